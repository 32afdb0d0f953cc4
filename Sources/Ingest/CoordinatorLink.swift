import Logging
import StreamrRPC
import StreamrWire

/// The ingest's side of the coordinator's control socket (stream keys are checked on a
/// connection of their own per publish, `KeyCheck`, so a refused key never waits behind
/// reports): the live state of streams goes over one persistent connection (`PersistentLink`), which begins
/// each (re)connect with a full sync of what is live here and keeps itself alive, so the
/// coordinator marks this ingest's streams offline as soon as that connection closes (the
/// ingest died) or goes quiet (it hung).
public final class CoordinatorLink: Sendable {
    let socket: String
    let logger: Logger
    let link: PersistentLink

    /// `snapshot` gives what is live now (name → "live" or "reconnecting"), for each sync.
    public init(socket: String, keepalive: Duration = .seconds(1), logger: Logger,
                snapshot: @escaping @Sendable () -> [(String, String)]) {
        self.socket = socket; self.logger = logger
        link = PersistentLink(name: "coordinator link", address: .unix(path: socket), capacity: 1000,
                              keepalive: (keepalive, { Self.request(["publish", "alive"], [:]) }), logger: logger) { connection in
            let streams = snapshot().map { "\($0.0)=\($0.1)" }.joined(separator: ",")
            _ = try await connection.request(Self.request(["publish", "sync"], ["streams": streams]), timeout: .seconds(10))
        }
    }

    public func started(stream: String) { report(["publish", "started"], ["stream": stream], "that \(stream) is live") }
    public func reconnecting(stream: String, reason: String) {
        report(["publish", "reconnecting"], ["stream": stream, "reason": reason], "that \(stream) lost its publisher")
    }
    public func stopped(stream: String, reason: String) {
        report(["publish", "stopped"], ["stream": stream, "reason": reason], "that \(stream) is offline")
    }

    private func report(_ command: [String], _ arguments: [String: String], _ what: String) {
        link.enqueue(.request(Self.request(command, arguments), what: what))
    }

    static func request(_ command: [String], _ arguments: [String: String]) -> Envelope.Body {
        .adminRequest(AdminRequest(command: command, arguments: arguments.sorted { $0.key < $1.key }.map { AdminArgument($0.key, $0.value) }))
    }
}
