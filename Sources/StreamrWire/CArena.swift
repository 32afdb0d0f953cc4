import CProtobufC
import NIOCore

/// Owns the C memory behind one outgoing protobuf-c message tree. Everything
/// allocated through it is freed together when the arena goes away, so
/// encoding cannot leak and no pointer outlives `ProtoCodec.encode`.
final class CArena {
    private var blocks: [UnsafeMutableRawPointer] = []

    deinit { for block in blocks { block.deallocate() } }

    /// A zero-initialised C struct of type T, set up by protobuf-c's `init`.
    func message<T>(_ type: T.Type, _ initialise: (UnsafeMutablePointer<T>) -> Void) -> UnsafeMutablePointer<T> {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: MemoryLayout<T>.stride, alignment: MemoryLayout<T>.alignment)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: MemoryLayout<T>.stride)
        blocks.append(raw)
        let typed = raw.bindMemory(to: T.self, capacity: 1)
        initialise(typed)
        return typed
    }

    func string(_ value: String) -> UnsafeMutablePointer<CChar> {
        var utf8 = Array(value.utf8CString)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: utf8.count, alignment: 1)
        blocks.append(raw)
        utf8.withUnsafeMutableBytes { raw.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        return raw.assumingMemoryBound(to: CChar.self)
    }

    func bytes(_ value: [UInt8]) -> ProtobufCBinaryData {
        guard !value.isEmpty else { return ProtobufCBinaryData(len: 0, data: nil) }
        let raw = UnsafeMutableRawPointer.allocate(byteCount: value.count, alignment: 1)
        blocks.append(raw)
        value.withUnsafeBytes { raw.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        return ProtobufCBinaryData(len: value.count, data: raw.assumingMemoryBound(to: UInt8.self))
    }

    func bytes(_ value: ByteBuffer) -> ProtobufCBinaryData {
        guard value.readableBytes > 0 else { return ProtobufCBinaryData(len: 0, data: nil) }
        let raw = UnsafeMutableRawPointer.allocate(byteCount: value.readableBytes, alignment: 1)
        blocks.append(raw)
        value.withUnsafeReadableBytes { raw.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        return ProtobufCBinaryData(len: value.readableBytes, data: raw.assumingMemoryBound(to: UInt8.self))
    }

    /// A C array of plain values (a repeated scalar or enum field).
    func values<T>(_ items: [T]) -> UnsafeMutablePointer<T>? {
        guard !items.isEmpty else { return nil }
        let raw = UnsafeMutableRawPointer.allocate(byteCount: MemoryLayout<T>.stride * items.count, alignment: MemoryLayout<T>.alignment)
        blocks.append(raw)
        let array = raw.bindMemory(to: T.self, capacity: items.count)
        array.initialize(from: items, count: items.count)
        return array
    }

    /// A C array of pointers to `items` converted by `element`.
    func array<T, P>(_ items: [T], _ element: (T) -> UnsafeMutablePointer<P>) -> UnsafeMutablePointer<UnsafeMutablePointer<P>?>? {
        guard !items.isEmpty else { return nil }
        let stride = MemoryLayout<UnsafeMutablePointer<P>?>.stride
        let raw = UnsafeMutableRawPointer.allocate(byteCount: stride * items.count, alignment: MemoryLayout<UnsafeMutablePointer<P>?>.alignment)
        blocks.append(raw)
        let array = raw.bindMemory(to: UnsafeMutablePointer<P>?.self, capacity: items.count)
        for (i, item) in items.enumerated() { array[i] = element(item) }
        return array
    }
}

extension String {
    /// A protobuf-c string field (never NULL for a decoded proto3 message, but be safe).
    init(protobufC pointer: UnsafePointer<CChar>?) {
        self = pointer.map { String(cString: $0) } ?? ""
    }
}

extension ByteBuffer {
    init(protobufC data: ProtobufCBinaryData) {
        if data.len == 0 || data.data == nil { self = ByteBuffer() } else {
            self = ByteBuffer(bytes: UnsafeRawBufferPointer(start: data.data, count: data.len))
        }
    }
}

extension Array where Element == UInt8 {
    init(protobufC data: ProtobufCBinaryData) {
        if data.len == 0 || data.data == nil { self = [] } else {
            self = Array(UnsafeBufferPointer(start: data.data, count: data.len))
        }
    }
}
