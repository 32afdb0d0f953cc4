import NIOCore

/// Why a frame was refused. Each is answered with an Error envelope, then the connection closes.
public enum FrameError: Error, Equatable, CustomStringConvertible {
    case tooLarge(length: Int, limit: Int)
    case malformedLength
    case undecodable(WireDecodingError)
    /// The connection ended in the middle of a frame.
    case truncated(received: Int)
    /// Part of a frame arrived, then nothing more for too long.
    case stalled(received: Int, seconds: Int)

    public var description: String {
        switch self {
        case .tooLarge(let length, let limit): "frame of \(length) bytes exceeds the limit of \(limit) bytes"
        case .malformedLength: "malformed frame length (varint over 10 bytes or over 2^63)"
        case .undecodable(let error): "undecodable frame: \(error)"
        case .truncated(let received): "connection ended inside a frame (\(received) bytes of it received)"
        case .stalled(let received, let seconds): "a frame started (\(received) bytes) and did not complete within \(seconds) s"
        }
    }

    /// The wire error a peer is told before the connection is closed.
    public var errorMessage: ErrorMessage {
        switch self {
        case .tooLarge: ErrorMessage(.tooLarge, description)
        case .malformedLength, .undecodable, .truncated: ErrorMessage(.malformed, description)
        case .stalled: ErrorMessage(.unavailable, description)
        }
    }
}

public enum Framing {
    /// Default largest envelope accepted: room for a keyframe-sized media frame.
    public static let defaultMaxFrameBytes = 4 << 20

    /// Reads a protobuf varint at the reader index without consuming it.
    /// Returns nil when more bytes are needed; throws when it runs past 10 bytes.
    static func peekVarint(_ buffer: ByteBuffer) throws(FrameError) -> (value: UInt64, width: Int)? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        var index = buffer.readerIndex
        for width in 1...10 {
            guard let byte = buffer.getInteger(at: index, as: UInt8.self) else { return nil }
            if width == 10 && byte > 1 { throw .malformedLength }
            value |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return (value, width) }
            shift += 7
            index += 1
        }
        throw .malformedLength
    }

    static func writeVarint(_ value: Int, to buffer: inout ByteBuffer) {
        var v = UInt64(value)
        while v >= 0x80 {
            buffer.writeInteger(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        buffer.writeInteger(UInt8(v))
    }
}

/// Length-delimited envelopes in, `Envelope`s out. The length is checked
/// against the limit as soon as the prefix is read, before the body is buffered.
public struct EnvelopeFrameDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = Envelope
    public let maxFrameBytes: Int

    public init(maxFrameBytes: Int = Framing.defaultMaxFrameBytes) { self.maxFrameBytes = maxFrameBytes }

    public mutating func decode(buffer: inout ByteBuffer) throws -> Envelope? {
        guard let (length, width) = try Framing.peekVarint(buffer) else { return nil }
        guard length <= UInt64(maxFrameBytes) else {
            throw FrameError.tooLarge(length: length > UInt64(Int.max) ? Int.max : Int(length), limit: maxFrameBytes)
        }
        let bodyLength = Int(length)
        guard buffer.readableBytes >= width + bodyLength else { return nil }
        let envelope: Envelope
        do {
            envelope = try buffer.withUnsafeReadableBytes { bytes in
                try ProtoCodec.decode(UnsafeRawBufferPointer(rebasing: bytes[width..<(width + bodyLength)]))
            }
        } catch let error as WireDecodingError {
            throw FrameError.undecodable(error)
        }
        buffer.moveReaderIndex(forwardBy: width + bodyLength)
        return envelope
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> Envelope? {
        if let envelope = try decode(buffer: &buffer) { return envelope }
        if buffer.readableBytes > 0 { throw FrameError.truncated(received: buffer.readableBytes) }
        return nil
    }
}

/// `Envelope`s in, length-delimited frames out. Refuses to send a frame the peer would refuse.
public struct EnvelopeFrameEncoder: MessageToByteEncoder {
    public typealias OutboundIn = Envelope
    public let maxFrameBytes: Int

    public init(maxFrameBytes: Int = Framing.defaultMaxFrameBytes) { self.maxFrameBytes = maxFrameBytes }

    public func encode(data: Envelope, out: inout ByteBuffer) throws {
        try ProtoCodec.encode(data) { size, pack in
            guard size <= maxFrameBytes else { throw FrameError.tooLarge(length: size, limit: maxFrameBytes) }
            Framing.writeVarint(size, to: &out)
            out.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { buffer in
                pack(UnsafeMutableRawBufferPointer(rebasing: buffer[0..<size]))
                return size
            }
        }
    }
}

extension Envelope {
    /// One complete frame (length prefix and envelope), e.g. for tests and tools.
    public func framed(allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 64)
        try! EnvelopeFrameEncoder(maxFrameBytes: Int.max).encode(data: self, out: &buffer)
        return buffer
    }
}
