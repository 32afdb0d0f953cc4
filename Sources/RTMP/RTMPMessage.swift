/// One RTMP message, reassembled from chunks (or about to be chunked).
public struct RTMPMessage: Equatable, Sendable {
    /// Message type id (spec 5.4 / 7.1): see `RTMPMessageType`.
    public var typeID: UInt8
    /// Message stream id: 0 for the connection, else the id `createStream` handed out.
    public var streamID: UInt32
    /// Absolute timestamp in milliseconds (wraps at 2^32, as on the wire).
    public var timestamp: UInt32
    /// The chunk stream it arrived on (informational; the encoder takes its own).
    public var chunkStreamID: UInt32
    public var payload: [UInt8]

    public init(typeID: UInt8, streamID: UInt32 = 0, timestamp: UInt32 = 0, chunkStreamID: UInt32 = 3, payload: [UInt8]) {
        self.typeID = typeID; self.streamID = streamID; self.timestamp = timestamp
        self.chunkStreamID = chunkStreamID; self.payload = payload
    }
}

/// Message type ids used by the module.
public enum RTMPMessageType {
    public static let setChunkSize: UInt8 = 1
    public static let abort: UInt8 = 2
    public static let acknowledgement: UInt8 = 3
    public static let userControl: UInt8 = 4
    public static let windowAcknowledgementSize: UInt8 = 5
    public static let setPeerBandwidth: UInt8 = 6
    public static let audio: UInt8 = 8
    public static let video: UInt8 = 9
    public static let dataAMF3: UInt8 = 15
    public static let commandAMF3: UInt8 = 17
    public static let dataAMF0: UInt8 = 18
    public static let commandAMF0: UInt8 = 20
}

/// Chunk stream ids this server sends on. Control messages must use 2 (spec 5.4); the rest
/// follow nginx-rtmp's choice so captures compare easily.
public enum RTMPChunkStream {
    public static let control: UInt32 = 2
    public static let command: UInt32 = 3
    public static let status: UInt32 = 5
    public static let audio: UInt32 = 6
    public static let video: UInt32 = 7
    public static let data: UInt32 = 5
}

/// User control event types (spec 7.1.7).
public enum RTMPUserControlEvent {
    public static let streamBegin: UInt16 = 0
    public static let streamEOF: UInt16 = 1
    public static let streamDry: UInt16 = 2
    public static let setBufferLength: UInt16 = 3
    public static let streamIsRecorded: UInt16 = 4
    public static let pingRequest: UInt16 = 6
    public static let pingResponse: UInt16 = 7
}
