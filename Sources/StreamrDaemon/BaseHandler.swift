import FoundationEssentials
import Glibc
import StreamrRPC
import StreamrWire

/// Answers what every Streamr endpoint answers (hello, status) and guards
/// local admin sockets by peer credentials. Daemons pass other bodies to `next`.
public struct BaseHandler: Sendable {
    public var software: String
    public var role: Role
    public var uptime: @Sendable () -> UInt64
    public var statusItems: @Sendable () async -> [StatusItem]

    /// `listening` is shown first in status answers, then the daemon's own `statusItems`.
    public init(daemon: Daemon, listening: [any ListeningServer], statusItems: @escaping @Sendable () async -> [StatusItem] = { [] }) {
        software = "\(daemon.name)/\(StreamrVersion.current)"
        role = daemon.role
        let d = daemon
        uptime = { d.uptimeSeconds }
        let fixed = [StatusItem("pid", integer: getpid()),
                     StatusItem("listening", listening.map(\.displayAddress).joined(separator: ", "))]
        self.statusItems = { fixed + (await statusItems()) }
    }

    /// A handler for a network listener.
    public func handler(next: RPCConnection.Handler? = nil) -> RPCConnection.Handler {
        { envelope, connection in
            switch envelope.body {
            case .hello(let hello):
                guard hello.protocolVersion == Hello.protocolVersion else {
                    throw CloseConnection(ErrorMessage(.unsupported, "protocol version \(hello.protocolVersion) not supported (this is \(Hello.protocolVersion))"))
                }
                return .hello(Hello(software: software, role: role))
            case .statusRequest:
                return .status(Status(software: software, role: role, uptimeSeconds: uptime(), items: await statusItems()))
            default:
                if let next { return try await next(envelope, connection) }
                throw ErrorMessage(.unsupported, "\(envelope.body.name) is not served by \(software)")
            }
        }
    }

    /// A handler for a local admin socket: root, the daemon's user or group `streamr` only.
    public func adminHandler(group: String = "streamr", next: RPCConnection.Handler? = nil) -> RPCConnection.Handler {
        let inner = handler(next: next)
        return { envelope, connection in
            guard let credentials = connection.peer.credentials, credentials.isAdmin(group: group) else {
                throw CloseConnection(ErrorMessage(.permissionDenied,
                    "permission denied: run as root or as a member of the `\(group)` group"))
            }
            return try await inner(envelope, connection)
        }
    }
}
