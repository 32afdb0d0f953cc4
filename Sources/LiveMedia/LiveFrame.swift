import FLV
import NIOCore
import RTMP
import StreamrWire

/// One tag of a live stream, made once and shared by every viewer: the exact FLV tag bytes
/// (header + data + PreviousTagSize, what chunks are made of and HTTP-FLV sends) and, only
/// while the stream has RTMP players, the same message as RTMP chunks.
public struct LiveFrame: Sendable {
    public let kind: TagKind
    public let timestamp: UInt32
    /// The chunk this tag belongs to (0 for sequence headers and metadata).
    public let chunkSeq: UInt64
    /// Header + data + PreviousTagSize. At a node, a slice of the bytes received.
    public let flv: ByteBuffer
    /// RTMP chunks on message stream 1 (set by the stream while it has RTMP players).
    public internal(set) var rtmp: ByteBuffer?

    /// Chunk size every player is told (Set Chunk Size), so all get the same bytes.
    public static let rtmpChunkSize = 4096

    /// A frame over tag bytes already serialized (a slice of what a node received).
    public init(flv: ByteBuffer, kind: TagKind, timestamp: UInt32, chunkSeq: UInt64) {
        self.flv = flv; self.kind = kind; self.timestamp = timestamp; self.chunkSeq = chunkSeq
    }

    public init(tag: FLVTag, kind: TagKind, chunkSeq: UInt64) {
        var bytes = ByteBuffer()
        bytes.reserveCapacity(tag.serializedSize)
        bytes.writeFLVTag(tag)
        self.init(flv: bytes, kind: kind, timestamp: tag.timestamp, chunkSeq: chunkSeq)
    }

    public var isKeyframe: Bool { kind.isKeyframe }
    public var isHeader: Bool { kind.isSequenceHeader || kind == .metadata }
    public var isVideo: Bool { kind.isVideo }

    /// The RTMP form: built here from the FLV bytes when the stream did not have it made.
    public func rtmpBytes() -> ByteBuffer { rtmp ?? RTMPFraming.encode(flvTag: flv) }
}

extension ByteBuffer {
    /// Appends `tag` as FLV: header, data, PreviousTagSize.
    public mutating func writeFLVTag(_ tag: FLVTag) {
        let size = UInt32(tag.data.count)
        writeInteger(tag.type.rawValue)
        writeInteger(UInt8(truncatingIfNeeded: size >> 16)); writeInteger(UInt16(truncatingIfNeeded: size))
        writeInteger(UInt8(truncatingIfNeeded: tag.timestamp >> 16)); writeInteger(UInt16(truncatingIfNeeded: tag.timestamp))
        writeInteger(UInt8(truncatingIfNeeded: tag.timestamp >> 24))
        writeInteger(UInt8(truncatingIfNeeded: tag.streamID >> 16)); writeInteger(UInt16(truncatingIfNeeded: tag.streamID))
        writeBytes(tag.data)
        writeInteger(UInt32(FLVTag.headerSize) + size)
    }
}

/// RTMP chunking straight from FLV tag bytes into a ByteBuffer (one copy of the payload):
/// the same bytes RTMPChunkEncoder makes — a type 0 header, then type 3 continuations — so
/// they depend only on the message, and every player gets the same shared buffer.
public enum RTMPFraming {
    public static func encode(flvTag flv: ByteBuffer, chunkSize: Int = LiveFrame.rtmpChunkSize) -> ByteBuffer {
        guard flv.readableBytes >= FLVTag.headerSize + 4,
              let type = flv.getInteger(at: flv.readerIndex, as: UInt8.self),
              let sizeHigh = flv.getInteger(at: flv.readerIndex + 1, as: UInt8.self),
              let sizeLow = flv.getInteger(at: flv.readerIndex + 2, as: UInt16.self),
              let tsHigh = flv.getInteger(at: flv.readerIndex + 4, as: UInt8.self),
              let tsLow = flv.getInteger(at: flv.readerIndex + 5, as: UInt16.self),
              let tsExt = flv.getInteger(at: flv.readerIndex + 7, as: UInt8.self) else { return ByteBuffer() }
        let size = Int(sizeHigh) << 16 | Int(sizeLow)
        guard flv.readableBytes >= FLVTag.headerSize + size else { return ByteBuffer() }
        let timestamp = UInt32(tsExt) << 24 | UInt32(tsHigh) << 16 | UInt32(tsLow)
        let cs: UInt8 = switch type & 0x1F {
        case RTMPMessageType.audio: UInt8(RTMPChunkStream.audio)
        case RTMPMessageType.video: UInt8(RTMPChunkStream.video)
        default: UInt8(RTMPChunkStream.data)
        }
        let extended = timestamp >= 0xFFFFFF
        let chunks = max(1, (size + chunkSize - 1) / chunkSize)
        var out = ByteBuffer()
        out.reserveCapacity(size + 12 + (extended ? 4 : 0) + (chunks - 1) * (1 + (extended ? 4 : 0)))
        out.writeInteger(cs)                                  // fmt 0, chunk stream cs (< 64)
        let ts24 = extended ? 0xFFFFFF : timestamp
        out.writeInteger(UInt8(truncatingIfNeeded: ts24 >> 16)); out.writeInteger(UInt16(truncatingIfNeeded: ts24))
        out.writeInteger(sizeHigh); out.writeInteger(sizeLow)
        out.writeInteger(type & 0x1F)
        out.writeInteger(UInt32(1), endianness: .little)      // message stream 1
        if extended { out.writeInteger(timestamp) }
        var offset = 0
        while true {
            let n = min(chunkSize, size - offset)
            if n > 0, let slice = flv.getSlice(at: flv.readerIndex + FLVTag.headerSize + offset, length: n) {
                out.writeImmutableBuffer(slice)
            }
            offset += n
            if offset >= size { break }
            out.writeInteger(0xC0 | cs)                       // fmt 3 continuation
            if extended { out.writeInteger(timestamp) }
        }
        return out
    }
}

/// A sealed chunk as kept for resuming subscribers, `/chunks` and HLS: its seal (digests,
/// signature, chain id) and bytes.
public struct SealedChunk: Sendable {
    public let seal: ChunkSealed
    public let bytes: ByteBuffer
    public init(seal: ChunkSealed, bytes: ByteBuffer) { self.seal = seal; self.bytes = bytes }
}
