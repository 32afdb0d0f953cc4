/// The server side of an RTMP connection after the handshake, as a state machine: decoded
/// messages in, actions out. Publish and play wait for the owner's decision (stream keys are
/// checked elsewhere, asynchronously) through `acceptPublish()`/`rejectPublish(reason:)` and
/// `acceptPlay()`/`rejectPlay(reason:)`. Replies follow what nginx-rtmp and SRS send, which is
/// what OBS (librtmp) and ffmpeg's rtmpproto.c wait for.
public struct RTMPServerSession: Sendable {
    public struct Configuration: Equatable, Sendable {
        /// Our Set Chunk Size, sent after connect; all later messages (media too) use it.
        public var chunkSize: UInt32 = 4096
        /// Window Acknowledgement Size and Set Peer Bandwidth sent after connect (nginx's default).
        public var windowAcknowledgementSize: UInt32 = 5_000_000
        public var peerBandwidth: UInt32 = 5_000_000
        public var fmsVersion = "FMS/3,0,1,123"
        public var amf0Limits = AMF0Limits()
        public init() {}
    }

    public enum Action: Equatable, Sendable {
        /// Bytes (whole chunks) to write to the peer, in order.
        case send([UInt8])
        /// The client wants to publish `rtmp://host/app/key`; answer with accept/rejectPublish.
        case publishRequested(app: String, key: String)
        /// The client wants to play `rtmp://host/app/name`; answer with accept/rejectPlay.
        case playRequested(app: String, name: String)
        /// Audio (8), video (9) or data (18) from the accepted publisher; `@setDataFrame`
        /// already stripped so metadata is `onMetaData`.
        case media(RTMPMessage)
        /// The publisher stopped (FCUnpublish, deleteStream or closeStream).
        case unpublished
        /// Close the connection after writing what was sent before.
        case close(reason: String)
    }

    public enum State: Equatable, Sendable {
        case awaitingConnect, connected, publishPending, publishing, playPending, playing, closed
    }

    public let configuration: Configuration
    public private(set) var state = State.awaitingConnect
    /// From connect: the application ("live") and the URL the client used.
    public private(set) var app = ""
    public private(set) var tcUrl = ""
    /// The publish key or play name, once asked for.
    public private(set) var streamName = ""
    /// The message stream id of the publish or play (1 for the first createStream, so every
    /// player's media bytes are the same and can be shared).
    public private(set) var activeStreamID: UInt32 = 1
    /// Chunk size of what we send: 128 until our Set Chunk Size has gone out.
    public private(set) var outgoingChunkSize = 128
    private var nextStreamID: UInt32 = 1
    private var objectEncoding: Double = 0

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    // MARK: Input

    public mutating func handle(_ message: RTMPMessage) -> [Action] {
        guard state != .closed else { return [] }
        switch message.typeID {
        case RTMPMessageType.commandAMF0, RTMPMessageType.commandAMF3:
            do {
                return try command(RTMPCommand.parse(message, limits: configuration.amf0Limits), streamID: message.streamID)
            } catch {
                return close("malformed command: \(error)")
            }
        case RTMPMessageType.audio, RTMPMessageType.video:
            return state == .publishing ? [.media(message)] : []
        case RTMPMessageType.dataAMF0, RTMPMessageType.dataAMF3:
            return state == .publishing ? data(message) : []
        case RTMPMessageType.userControl:
            // A ping from the client is answered; other events (Set Buffer Length) need nothing.
            let p = message.payload
            if p.count >= 6, p.readBE16(at: 0) == RTMPUserControlEvent.pingRequest {
                return send([RTMPControl.pingResponse(timestamp: p.readBE32(at: 2))])
            }
            return []
        default:
            return []
        }
    }

    private mutating func command(_ command: RTMPCommand, streamID: UInt32) -> [Action] {
        if case .connect = command {} else if state == .awaitingConnect {
            return close("command before connect: \(command)")
        }
        switch command {
        case .connect(let tx, let props):
            guard state == .awaitingConnect else { return close("second connect on one connection") }
            guard case .string(let app)? = props["app"] else { return close("connect without an app") }
            self.app = app.hasSuffix("/") ? String(app.dropLast()) : app
            tcUrl = props["tcUrl"]?.stringValue ?? ""
            objectEncoding = props["objectEncoding"]?.numberValue ?? 0
            state = .connected
            var out: [RTMPMessage] = [
                RTMPControl.windowAcknowledgementSize(configuration.windowAcknowledgementSize),
                RTMPControl.setPeerBandwidth(configuration.peerBandwidth, limitType: 2),
                RTMPControl.setChunkSize(configuration.chunkSize),
            ]
            out.append(RTMPCommand.message("_result", transactionID: tx, [
                .object(["fmsVer": .string(configuration.fmsVersion), "capabilities": .number(31), "mode": .number(1)]),
                .object([
                    "level": .string("status"), "code": .string("NetConnection.Connect.Success"),
                    "description": .string("Connection succeeded."), "objectEncoding": .number(objectEncoding),
                ]),
            ]))
            // Our Set Chunk Size applies from the message after it.
            var bytes: [UInt8] = []
            for (i, m) in out.enumerated() {
                RTMPChunkEncoder.encode(m, chunkStreamID: m.chunkStreamID, chunkSize: outgoingChunkSize, into: &bytes)
                if i == 2 { outgoingChunkSize = Int(configuration.chunkSize) }
            }
            return [.send(bytes)]
        case .releaseStream(let tx, _), .checkBandwidth(let tx):
            return result(tx, .undefined)
        case .getStreamLength(let tx, _):
            return result(tx, .number(0))
        case .fcPublish(let tx, let name):
            return send([
                RTMPCommand.message("onFCPublish", transactionID: 0, [.null, .object([
                    "code": .string("NetStream.Publish.Start"), "description": .string(name),
                ])]),
            ]) + result(tx, .undefined)
        case .createStream(let tx):
            let id = nextStreamID
            nextStreamID &+= 1
            return result(tx, .number(Double(id)))
        case .publish(_, let name, _):
            guard state == .connected else { return close("publish while \(state)") }
            streamName = name
            activeStreamID = streamID != 0 ? streamID : 1
            state = .publishPending
            if name.isEmpty { return rejectPublish(reason: "empty stream key") }
            return [.publishRequested(app: app, key: name)]
        case .play(_, let name, _):
            guard state == .connected else { return close("play while \(state)") }
            streamName = name
            activeStreamID = streamID != 0 ? streamID : 1
            state = .playPending
            if name.isEmpty { return rejectPlay(reason: "empty stream name") }
            return [.playRequested(app: app, name: name)]
        case .fcUnpublish(let tx, _):
            return result(tx, .undefined) + endPublishOrPlay()
        case .deleteStream, .closeStream:
            return endPublishOrPlay()
        case .other:
            return []
        }
    }

    private mutating func data(_ message: RTMPMessage) -> [Action] {
        guard let parsed = try? RTMPDataMessage.parse(message, limits: configuration.amf0Limits),
              parsed.name != "@clearDataFrame",
              let stripped = try? RTMPDataMessage.strippingSetDataFrame(message) else { return [] }
        return [.media(stripped)]
    }

    private mutating func endPublishOrPlay() -> [Action] {
        switch state {
        case .publishing:
            state = .connected
            return [.unpublished]
        case .publishPending, .playPending, .playing:
            // A pending decision may still arrive; accept/reject check the state and do nothing.
            state = .connected
            return []
        default:
            return []
        }
    }

    // MARK: The owner's decisions

    public mutating func acceptPublish() -> [Action] {
        guard state == .publishPending else { return [] }
        state = .publishing
        return send([status("status", "NetStream.Publish.Start", "\(streamName) is now published.", details: streamName)])
    }

    public mutating func rejectPublish(reason: String) -> [Action] {
        guard state == .publishPending else { return [] }
        return send([status("error", "NetStream.Publish.BadName", reason, details: streamName)]) + close(reason)
    }

    /// Stream Begin, Play.Reset, Play.Start, |RtmpSampleAccess and Data.Start, as nginx-rtmp
    /// sends them; media for this player follows on `activeStreamID`.
    public mutating func acceptPlay() -> [Action] {
        guard state == .playPending else { return [] }
        state = .playing
        let access = RTMPMessage(typeID: RTMPMessageType.dataAMF0, streamID: activeStreamID, timestamp: 0,
                                 chunkStreamID: RTMPChunkStream.data,
                                 payload: AMF0Encoder.encode([.string("|RtmpSampleAccess"), .boolean(true), .boolean(true)]))
        return send([
            RTMPControl.streamBegin(streamID: activeStreamID),
            status("status", "NetStream.Play.Reset", "Playing and resetting \(streamName).", details: streamName),
            status("status", "NetStream.Play.Start", "Started playing \(streamName).", details: streamName),
            access,
            status("status", "NetStream.Data.Start", "Started playing \(streamName).", details: nil),
        ])
    }

    public mutating func rejectPlay(reason: String) -> [Action] {
        guard state == .playPending else { return [] }
        return send([status("error", "NetStream.Play.StreamNotFound", reason, details: streamName)]) + close(reason)
    }

    /// For a player: the publisher went away. ffmpeg ends playback on UnpublishNotify.
    public mutating func streamEnded() -> [Action] {
        guard state == .playing else { return [] }
        state = .connected
        return send([
            RTMPControl.streamEOF(streamID: activeStreamID),
            status("status", "NetStream.Play.UnpublishNotify", "\(streamName) is now unpublished.", details: streamName),
        ])
    }

    // MARK: Building replies

    private func status(_ level: String, _ code: String, _ description: String, details: String?) -> RTMPMessage {
        var info: AMF0Object = ["level": .string(level), "code": .string(code), "description": .string(description)]
        if let details { info.properties.append(.init("details", .string(details))) }
        return RTMPCommand.message("onStatus", transactionID: 0, [.null, .object(info)],
                                   streamID: activeStreamID, chunkStreamID: RTMPChunkStream.status)
    }

    /// `_result` with a null command object and one value; nothing when the client sent
    /// transaction id 0 (it expects no answer).
    private func result(_ tx: Double, _ value: AMF0Value) -> [Action] {
        guard tx != 0 else { return [] }
        return send([RTMPCommand.message("_result", transactionID: tx, [.null, value])])
    }

    private func send(_ messages: [RTMPMessage]) -> [Action] {
        var bytes: [UInt8] = []
        for m in messages { RTMPChunkEncoder.encode(m, chunkStreamID: m.chunkStreamID, chunkSize: outgoingChunkSize, into: &bytes) }
        return [.send(bytes)]
    }

    private mutating func close(_ reason: String) -> [Action] {
        state = .closed
        return [.close(reason: reason)]
    }
}
