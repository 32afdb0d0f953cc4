import Logging
import NIOCore
import NIOPosix
import StreamrTLS
import StreamrWire

/// Where a server listens.
public enum ListenAddress: Sendable, CustomStringConvertible {
    case tcp(host: String, port: Int)
    case unix(path: String)
    /// A listening socket inherited from systemd (socket activation).
    case inherited(fd: Int32, name: String)

    public var description: String {
        switch self {
        case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unix(let path): path
        case .inherited(let fd, let name): "systemd socket \(name) (fd \(fd))"
        }
    }
}

/// Accepts Streamr connections and runs each one's request loop.
public final class RPCServer: Sendable {
    public struct Accepted: Sendable {
        let channel: NIOAsyncChannel<Envelope, Envelope>
        let handshake: EventLoopFuture<Certificate?>
        let credentials: PeerCredentials?
    }

    private let serverChannel: NIOAsyncChannel<Accepted, Never>
    public let address: ListenAddress
    public let pipeline: RPCPipeline
    private let logger: Logger

    public var localAddress: SocketAddress? { serverChannel.channel.localAddress }

    private init(serverChannel: NIOAsyncChannel<Accepted, Never>, address: ListenAddress, pipeline: RPCPipeline, logger: Logger) {
        self.serverChannel = serverChannel; self.address = address; self.pipeline = pipeline; self.logger = logger
    }

    public static func bind(_ address: ListenAddress, pipeline: RPCPipeline, logger: Logger,
                            group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> RPCServer {
        let isUnix: Bool
        switch address {
        case .unix: isUnix = true
        case .tcp: isUnix = false
        case .inherited(let fd, _): isUnix = socketFamily(fd) == AF_UNIX
        }
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.so_keepalive), value: 1)
        let initializer: @Sendable (any Channel) -> EventLoopFuture<Accepted> = { channel in
            peerCredentials(of: channel, isUnix: isUnix).flatMapThrowing { credentials in
                if !isUnix { try channel.syncOptions?.setOption(.tcpOption(.tcp_nodelay), value: 1) }
                let (async, handshake) = try pipeline.configure(channel)
                return Accepted(channel: async, handshake: handshake, credentials: credentials)
            }
        }
        let server: NIOAsyncChannel<Accepted, Never>
        switch address {
        case .tcp(let host, let port):
            server = try await bootstrap.bind(host: host, port: port, childChannelInitializer: initializer)
        case .unix(let path):
            server = try await bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true,
                                              childChannelInitializer: initializer)
        case .inherited(let fd, _):
            server = try await bootstrap.bind(fd, childChannelInitializer: initializer)
        }
        return RPCServer(serverChannel: server, address: address, pipeline: pipeline, logger: logger)
    }

    /// Accepts connections until cancelled or the listener closes; each connection is served
    /// concurrently by `handler`. A failing connection is logged and closed; the server goes on.
    public func run(handler: @escaping RPCConnection.Handler) async throws {
        try await serverChannel.executeThenClose { inbound in
            try await withThrowingDiscardingTaskGroup { group in
                for try await accepted in inbound {
                    group.addTask { await self.serve(accepted, handler: handler) }
                }
            }
        }
    }

    private func serve(_ accepted: Accepted, handler: @escaping RPCConnection.Handler) async {
        let remote = accepted.channel.channel.remoteAddress
        var logger = self.logger
        logger[metadataKey: "peer"] = "\(remote.map { "\($0)" } ?? accepted.credentials.map { "pid \($0.pid)" } ?? "?")"
        do {
            try await accepted.channel.executeThenClose { inbound, outbound in
                let certificate = try await accepted.handshake.get()
                let peer = PeerInfo(remoteAddress: remote, certificate: certificate, credentials: accepted.credentials)
                let connection = RPCConnection(outbound: outbound, peer: peer, eventLoop: accepted.channel.channel.eventLoop)
                try await connection.run(inbound: inbound, handler: handler)
            }
            logger.debug("connection closed")
        } catch let error as TLSError where error.kind == .uncleanShutdown {
            logger.debug("connection closed without TLS close_notify")
        } catch {
            logger.notice("connection closed: \(error)", metadata: ["event": "connection_error"])
        }
    }
}

private func socketFamily(_ fd: Int32) -> Int32 {
    var storage = sockaddr_storage()
    var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
    let rc = withUnsafeMutablePointer(to: &storage) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return rc == 0 ? Int32(storage.ss_family) : -1
}

/// SO_PEERCRED of an accepted Unix-socket connection (nil for TCP).
private func peerCredentials(of channel: any Channel, isUnix: Bool) -> EventLoopFuture<PeerCredentials?> {
    guard isUnix, let provider = channel as? any SocketOptionProvider else { return channel.eventLoop.makeSucceededFuture(nil) }
    let future: EventLoopFuture<KernelUcred> = provider.unsafeGetSocketOption(level: NIOBSDSocket.OptionLevel(rawValue: SOL_SOCKET),
                                                                        name: NIOBSDSocket.Option(rawValue: SO_PEERCRED))
    return future.map { PeerCredentials(pid: $0.pid, uid: $0.uid, gid: $0.gid) }
}
