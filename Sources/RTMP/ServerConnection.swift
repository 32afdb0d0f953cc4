/// Handshake, chunk decoder and session together: the whole server side of one connection,
/// so the NIO ingest only moves bytes. Feed what the socket read; perform the actions in order.
public struct RTMPServerConnection: Sendable {
    public private(set) var handshake: RTMPServerHandshake
    public private(set) var decoder: RTMPChunkDecoder
    /// The session, for the owner's decisions: `connection.session.acceptPublish()` etc.
    public var session: RTMPServerSession
    private var closed = false

    public init(hmac: @escaping RTMPHMACSHA256, limits: RTMPChunkDecoder.Limits = .init(),
                configuration: RTMPServerSession.Configuration = .init()) {
        handshake = RTMPServerHandshake(hmac: hmac)
        decoder = RTMPChunkDecoder(limits: limits)
        session = RTMPServerSession(configuration: configuration)
    }

    /// Bytes from the peer in, actions out. Errors (bad handshake, broken chunk stream) come
    /// back as `.close`, after which everything is ignored.
    public mutating func receive(_ bytes: [UInt8]) -> [RTMPServerSession.Action] {
        guard !closed else { return [] }
        var actions: [RTMPServerSession.Action] = []
        var input = bytes
        do {
            if !handshake.isComplete {
                let out = try handshake.receive(bytes)
                if !out.send.isEmpty { actions.append(.send(out.send)) }
                guard out.isComplete else { return actions }
                // Acknowledgements count every byte, the handshake's too (C0+C1+C2).
                decoder = RTMPChunkDecoder(limits: decoder.limits, bytesAlreadyReceived: UInt64(1 + 2 * RTMPServerHandshake.packetSize))
                input = out.remaining
            }
            decoder.append(input)
            while let message = try decoder.nextMessage() {
                for action in session.handle(message) {
                    actions.append(action)
                    if case .close = action { closed = true; return actions }
                }
            }
            if let sequence = decoder.acknowledgementDue() {
                actions.append(.send(RTMPChunkEncoder.encode(RTMPControl.acknowledgement(sequence), chunkSize: session.outgoingChunkSize)))
            }
        } catch {
            closed = true
            actions.append(.close(reason: "\(error)"))
        }
        return actions
    }
}
