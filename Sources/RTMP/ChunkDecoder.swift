/// Reassembles RTMP messages from the chunk stream a peer sends (spec 5.3), incrementally:
/// `append` any slice of bytes (one at a time works), then call `nextMessage()` until nil.
/// Set Chunk Size, Abort and Window Acknowledgement Size are applied here (they change how
/// the following bytes are read) and also returned, so the owner sees every message.
public struct RTMPChunkDecoder: Sendable {
    public struct Limits: Equatable, Sendable {
        /// Largest Set Chunk Size accepted. The spec allows 2^31-1; no encoder needs more than a
        /// message, so this matches the message limit.
        public var maxChunkSize: UInt32 = 16 << 20
        /// Largest message; a keyframe of a high-bitrate 4K stream is a few MiB.
        public var maxMessageLength: Int = 16 << 20
        /// Messages in progress at once (one per chunk stream); OBS/ffmpeg use 2 or 3.
        public var maxPartialMessages: Int = 64
        /// Sum of the declared lengths of messages in progress; the memory a peer can pin.
        public var maxBufferedBytes: Int = 32 << 20
        /// Chunk streams with remembered headers (a peer could otherwise name 65599 of them).
        public var maxChunkStreams: Int = 256
        public init() {}
    }

    private struct Stream {
        var timestamp: UInt32 = 0
        /// Last timestamp field: a delta, or after a type 0 header the absolute timestamp. A type 3
        /// header that starts a message adds it, as ffmpeg's and SRS's decoders do (ffmpeg's encoder
        /// relies on that when it picks type 3).
        var delta: UInt32 = 0
        var length: UInt32 = 0
        var typeID: UInt8 = 0
        var streamID: UInt32 = 0
        /// The last type 0-2 header carried an extended timestamp, so type 3 headers repeat it.
        var extended = false
        var inProgress = false
        var payload: [UInt8] = []
    }

    private enum Stage { case header, payload(chunkStream: UInt32, remaining: Int) }

    public let limits: Limits
    /// The peer's current chunk size (128 until it sends Set Chunk Size).
    public private(set) var chunkSize: UInt32 = 128
    /// Every byte appended, plus what the owner says came before (the handshake).
    public private(set) var bytesReceived: UInt64
    /// Set by the peer's Window Acknowledgement Size; nil until then (no acks due).
    public private(set) var windowAcknowledgementSize: UInt32?
    private var lastAcknowledged: UInt64
    private var streams: [UInt32: Stream] = [:]
    private var stage = Stage.header
    private var input: [UInt8] = []
    private var position = 0
    private var partialMessages = 0
    private var bufferedBytes = 0
    private var failure: RTMPChunkError?

    public init(limits: Limits = Limits(), bytesAlreadyReceived: UInt64 = 0) {
        self.limits = limits
        bytesReceived = bytesAlreadyReceived
        lastAcknowledged = bytesAlreadyReceived
    }

    public mutating func append(_ bytes: some Sequence<UInt8>) {
        if position == input.count {
            input.removeAll(keepingCapacity: true); position = 0
        } else if position >= 64 << 10 {
            input.removeFirst(position); position = 0
        }
        let before = input.count
        input.append(contentsOf: bytes)
        bytesReceived &+= UInt64(input.count - before)
    }

    /// The sequence number to acknowledge (spec 5.4.3) when a window's worth of bytes has
    /// arrived since the last acknowledgement, else nil.
    public mutating func acknowledgementDue() -> UInt32? {
        guard let window = windowAcknowledgementSize, window > 0,
              bytesReceived - lastAcknowledged >= UInt64(window) else { return nil }
        lastAcknowledged = bytesReceived
        return UInt32(truncatingIfNeeded: bytesReceived)
    }

    /// The next complete message, or nil when more bytes are needed.
    public mutating func nextMessage() throws -> RTMPMessage? {
        if let failure { throw failure }
        do {
            while true {
                switch stage {
                case .header:
                    guard try readHeader() else { return nil }
                case .payload(let cs, let remaining):
                    let n = min(remaining, input.count - position)
                    if n == 0 && remaining > 0 { return nil }
                    streams[cs]!.payload.append(contentsOf: input[position ..< position + n])
                    position += n
                    if n < remaining { stage = .payload(chunkStream: cs, remaining: remaining - n); return nil }
                    stage = .header
                    if let message = finishIfComplete(cs) {
                        try apply(message)
                        return message
                    }
                }
            }
        } catch let error as RTMPChunkError {
            failure = error
            throw error
        }
    }

    /// Parses one chunk header if all of it is buffered; changes nothing otherwise.
    private mutating func readHeader() throws -> Bool {
        var i = position
        let available = input.count
        guard available - i >= 1 else { return false }
        let first = input[i]
        let format = first >> 6
        var cs = UInt32(first & 0x3F)
        i += 1
        if cs == 0 {
            guard available - i >= 1 else { return false }
            cs = 64 + UInt32(input[i]); i += 1
        } else if cs == 1 {
            guard available - i >= 2 else { return false }
            cs = 64 + UInt32(input[i]) + UInt32(input[i + 1]) << 8; i += 2
        }
        let previous = streams[cs]
        if format != 0 && previous == nil { throw RTMPChunkError.noPreviousHeader(chunkStream: cs, format: format) }
        if format != 3, previous?.inProgress == true {
            throw RTMPChunkError.headerInsideMessage(chunkStream: cs, format: format)
        }
        let headerLength = format == 0 ? 11 : format == 1 ? 7 : format == 2 ? 3 : 0
        guard available - i >= headerLength else { return false }
        let field = format == 3 ? 0 : input.readBE24(at: i)
        let extended = format == 3 ? previous!.extended : field == 0xFFFFFF
        guard available - i - headerLength >= (extended ? 4 : 0) else { return false }

        // The whole header is buffered: apply it.
        var s = previous ?? Stream()
        if previous == nil && streams.count >= limits.maxChunkStreams {
            throw RTMPChunkError.tooManyChunkStreams(limit: limits.maxChunkStreams)
        }
        let timeValue = extended ? input.readBE32(at: i + headerLength) : field
        switch format {
        case 0:
            s.timestamp = timeValue; s.delta = timeValue
            s.length = input.readBE24(at: i + 3); s.typeID = input[i + 6]
            s.streamID = input.readLE32(at: i + 7)
        case 1:
            s.delta = timeValue; s.timestamp &+= timeValue
            s.length = input.readBE24(at: i + 3); s.typeID = input[i + 6]
        case 2:
            s.delta = timeValue; s.timestamp &+= timeValue
        default:
            // The repeated extended timestamp of a continuation is skipped, not trusted.
            if !s.inProgress { s.timestamp &+= s.delta }
        }
        if format != 3 { s.extended = extended }
        position = i + headerLength + (extended ? 4 : 0)

        if !s.inProgress {
            try startMessage(&s)
        }
        let remaining = Int(s.length) - s.payload.count
        streams[cs] = s
        stage = .payload(chunkStream: cs, remaining: min(remaining, Int(chunkSize)))
        return true
    }

    private mutating func startMessage(_ s: inout Stream) throws {
        let length = Int(s.length)
        if length > limits.maxMessageLength {
            throw RTMPChunkError.messageTooLong(length: s.length, limit: limits.maxMessageLength)
        }
        if partialMessages >= limits.maxPartialMessages {
            throw RTMPChunkError.tooManyPartialMessages(limit: limits.maxPartialMessages)
        }
        if bufferedBytes + length > limits.maxBufferedBytes {
            throw RTMPChunkError.tooManyBufferedBytes(limit: limits.maxBufferedBytes)
        }
        // The declared length is within the limits, so reserving it up front is safe.
        s.payload = []
        s.payload.reserveCapacity(length)
        s.inProgress = true
        partialMessages += 1
        bufferedBytes += length
    }

    private mutating func finishIfComplete(_ cs: UInt32) -> RTMPMessage? {
        guard let s = streams[cs], s.payload.count == Int(s.length) else { return nil }
        let message = RTMPMessage(typeID: s.typeID, streamID: s.streamID, timestamp: s.timestamp,
                                  chunkStreamID: cs, payload: s.payload)
        streams[cs]!.payload = []
        streams[cs]!.inProgress = false
        partialMessages -= 1
        bufferedBytes -= Int(s.length)
        return message
    }

    /// Protocol control messages that change how the rest of the stream is read.
    private mutating func apply(_ message: RTMPMessage) throws {
        let p = message.payload
        switch message.typeID {
        case RTMPMessageType.setChunkSize:
            guard p.count >= 4 else { throw RTMPChunkError.malformedControlMessage(type: message.typeID, length: p.count) }
            let size = p.readBE32(at: 0)
            guard size != 0, size & 0x8000_0000 == 0 else { throw RTMPChunkError.invalidChunkSize(size) }
            guard size <= limits.maxChunkSize else {
                throw RTMPChunkError.chunkSizeOverLimit(size, limit: limits.maxChunkSize)
            }
            chunkSize = size
        case RTMPMessageType.abort:
            guard p.count >= 4 else { throw RTMPChunkError.malformedControlMessage(type: message.typeID, length: p.count) }
            let cs = p.readBE32(at: 0)
            if let s = streams[cs], s.inProgress {
                partialMessages -= 1
                bufferedBytes -= Int(s.length)
                streams[cs]!.payload = []
                streams[cs]!.inProgress = false
            }
        case RTMPMessageType.windowAcknowledgementSize:
            guard p.count >= 4 else { throw RTMPChunkError.malformedControlMessage(type: message.typeID, length: p.count) }
            windowAcknowledgementSize = p.readBE32(at: 0)
        case RTMPMessageType.acknowledgement:
            guard p.count >= 4 else { throw RTMPChunkError.malformedControlMessage(type: message.typeID, length: p.count) }
        case RTMPMessageType.userControl:
            guard p.count >= 2 else { throw RTMPChunkError.malformedControlMessage(type: message.typeID, length: p.count) }
        case RTMPMessageType.setPeerBandwidth:
            guard p.count >= 5 else { throw RTMPChunkError.malformedControlMessage(type: message.typeID, length: p.count) }
        default:
            break
        }
    }
}
