import LiveMedia
import Logging
import StreamrConfig
import StreamrRPC
import StreamrWire

/// What `streamrctl` may ask the node agent on its control socket besides status: pause and
/// resume (the friend's scheduled downtime).
struct NodeControl: Sendable {
    let store: NodeStore
    let relays: Relays
    let logger: Logger

    /// The pause in force now (nil: not paused; 0: until resumed; else until that unix ms).
    func pausedUntil() -> Int64? { (try? store.pausedUntil()) ?? nil }

    /// Applies a pause that ran out (checked with each heartbeat).
    func refresh() { relays.setPaused(pausedUntil() != nil) }

    var handler: RPCConnection.Handler {
        { envelope, _ in
            guard case .adminRequest(let request) = envelope.body else {
                throw ErrorMessage(.unsupported, "\(envelope.body.name) is not served on the node's control socket")
            }
            return .adminResponse(try self.handle(request))
        }
    }

    func handle(_ request: AdminRequest) throws -> AdminResponse {
        switch request.command {
        case ["pause"]:
            let now = NodeStore.nowMs()
            var until: Int64 = 0
            if let text = request[argument: "for"], !text.isEmpty {
                guard let duration = DurationText.parse(text), duration > .zero else {
                    throw ErrorMessage(.invalidArgument, "--for takes a duration like 30m, 2h or 1d, got `\(text)`")
                }
                until = now + duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
            }
            try store.pause(untilMs: until)
            relays.setPaused(true)
            let when = until == 0 ? "until `streamrctl resume`" : "until \(TextFormat.timestamp(unixSeconds: until / 1000))"
            logger.notice("paused \(when)", metadata: ["event": "paused", "until_ms": "\(until)"])
            return AdminResponse(columns: ["paused", "until"], rows: [["true", until == 0 ? "-" : TextFormat.timestamp(unixSeconds: until / 1000)]],
                                 message: "paused \(when): no viewers are sent here, nothing is relayed, and the time is scheduled downtime",
                                 types: [.boolean, until == 0 ? .null : .timestamp])
        case ["resume"]:
            let was = pausedUntil() != nil
            try store.resume()
            relays.setPaused(false)
            if was { logger.notice("resumed", metadata: ["event": "resumed"]) }
            return AdminResponse(columns: ["paused"], rows: [["false"]],
                                 message: was ? "resumed: relaying again" : "not paused; nothing to do", types: [.boolean])
        default:
            throw ErrorMessage(.unsupported, "`\(request.command.joined(separator: " "))` is not a node command (this is a node agent; host commands go to the host)")
        }
    }
}
