/// Why the chunk stream from a peer cannot be read further. The connection should be closed;
/// the decoder keeps failing with the same error afterwards.
public enum RTMPChunkError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A type 1, 2 or 3 chunk header on a chunk stream that never had a type 0 header.
    case noPreviousHeader(chunkStream: UInt32, format: UInt8)
    /// A type 0, 1 or 2 header where a type 3 continuation of an unfinished message belongs.
    case headerInsideMessage(chunkStream: UInt32, format: UInt8)
    case messageTooLong(length: UInt32, limit: Int)
    case tooManyPartialMessages(limit: Int)
    case tooManyBufferedBytes(limit: Int)
    case tooManyChunkStreams(limit: Int)
    /// Set Chunk Size of 0 or with the reserved top bit set.
    case invalidChunkSize(UInt32)
    case chunkSizeOverLimit(UInt32, limit: UInt32)
    /// A protocol control message whose payload is too short for its type.
    case malformedControlMessage(type: UInt8, length: Int)

    public var description: String {
        switch self {
        case .noPreviousHeader(let cs, let fmt):
            "RTMP chunk: type \(fmt) header on chunk stream \(cs), which has no earlier type 0 header"
        case .headerInsideMessage(let cs, let fmt):
            "RTMP chunk: type \(fmt) header on chunk stream \(cs) before its previous message was complete"
        case .messageTooLong(let length, let limit):
            "RTMP chunk: message of \(length) bytes exceeds the limit of \(limit)"
        case .tooManyPartialMessages(let limit):
            "RTMP chunk: more than \(limit) messages in progress at once"
        case .tooManyBufferedBytes(let limit):
            "RTMP chunk: unfinished messages would hold more than \(limit) bytes"
        case .tooManyChunkStreams(let limit):
            "RTMP chunk: more than \(limit) chunk streams in use"
        case .invalidChunkSize(let size):
            "RTMP chunk: invalid Set Chunk Size \(size) (must be 1...0x7FFFFFFF)"
        case .chunkSizeOverLimit(let size, let limit):
            "RTMP chunk: Set Chunk Size \(size) exceeds the limit of \(limit)"
        case .malformedControlMessage(let type, let length):
            "RTMP chunk: protocol control message type \(type) with a \(length)-byte payload is too short"
        }
    }
}
