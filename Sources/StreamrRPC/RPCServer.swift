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
/// Something a daemon listens with (for its start message and status).
public protocol ListeningServer: Sendable {
    var address: ListenAddress { get }
    /// The address actually bound (a configured port 0 becomes the kernel's choice).
    var localAddress: SocketAddress? { get }
}

extension ListeningServer {
    /// What status and start lines show: the configured address, with the bound port when the
    /// configuration said 0.
    public var displayAddress: String {
        if case .tcp(let host, 0) = address, let port = localAddress?.port { return "\(host):\(port)" }
        return "\(address)"
    }
}

public final class RPCServer: ListeningServer {
    public struct Accepted: Sendable {
        let channel: NIOAsyncChannel<Envelope, RPCOutbound>
        let handshake: EventLoopFuture<Certificate?>
        let credentials: PeerCredentials?
    }

    private let serverChannel: NIOAsyncChannel<Accepted, Never>
    public let address: ListenAddress
    public let pipeline: RPCPipeline
    private let logger: Logger
    private let unauthenticated: ConnectionLimiter

    public var localAddress: SocketAddress? { serverChannel.channel.localAddress }

    private init(serverChannel: NIOAsyncChannel<Accepted, Never>, address: ListenAddress, pipeline: RPCPipeline, logger: Logger) {
        self.serverChannel = serverChannel; self.address = address; self.pipeline = pipeline; self.logger = logger
        unauthenticated = ConnectionLimiter(perAddress: pipeline.unauthenticatedPerAddress)
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
            try removeStaleSocket(at: path)
            server = try await bootstrap.bind(unixDomainSocketPath: path, childChannelInitializer: initializer)
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
        logger[metadataKey: "peer"] = "\(accepted.credentials.map { "uid \($0.uid) pid \($0.pid)" } ?? remote?.displayAddress ?? "?")"
        var counted = false
        defer { if counted { unauthenticated.release(remote) } }
        do {
            try await accepted.channel.executeThenClose { inbound, outbound in
                // A client that never finishes its handshake must not hold up shutdown.
                let channel = accepted.channel.channel
                let certificate = try await withTaskCancellationHandler {
                    try await accepted.handshake.get()
                } onCancel: {
                    channel.close(promise: nil)
                }
                // TLS without a client certificate (enrolment): a short life, one refusal, and a
                // few such connections per address at most.
                let anonymous = pipeline.tls != nil && certificate == nil
                var lifetime: Scheduled<Void>?
                if anonymous {
                    guard unauthenticated.acquire(remote) else {
                        logger.notice("refused: over \(pipeline.unauthenticatedPerAddress) connections without a certificate from this address",
                                      metadata: ["event": "connection_refused", "reason": "per_address_limit"])
                        try? await channel.writeAndFlush(RPCOutbound.envelope(Envelope(.error(ErrorMessage(.unavailable,
                            "too many connections without a certificate from your address; try again later")))))
                        return
                    }
                    counted = true
                    let limit = pipeline.unauthenticatedLifetime
                    let log = logger
                    lifetime = channel.eventLoop.scheduleTask(in: limit) {
                        log.notice("closed: no certificate and still connected after \(limit.nanoseconds / 1_000_000_000) s",
                                      metadata: ["event": "connection_timeout"])
                        channel.close(promise: nil)
                    }
                }
                defer { lifetime?.cancel() }
                let peer = PeerInfo(remoteAddress: remote, certificate: certificate, credentials: accepted.credentials)
                let connection = RPCConnection(channel: channel, peer: peer)
                try await connection.run(inbound: inbound, handler: handler, closeAfterError: anonymous)
            }
            logger.debug("connection closed")
        } catch let error as TLSError where error.kind == .uncleanShutdown {
            logger.debug("connection closed without TLS close_notify")
        } catch where Task.isCancelled {
            logger.debug("connection closed for shutdown")
        } catch let error as CloseConnection {
            logger.info("connection closed: \(error.reason.message)", metadata: ["event": "connection_closed"])
        } catch {
            logger.notice("connection closed: \(error)", metadata: ["event": "connection_error"])
        }
    }
}

public struct SocketInUseError: Error, CustomStringConvertible {
    public let path: String
    public var description: String { "\(path) is in use by a running daemon" }
}

/// Removes a socket file left by a process that died, but never one a live daemon
/// is listening on (a second instance must fail, not steal the first one's socket).
/// Anything that is not a socket is left alone, and the bind then fails naming it.
private func removeStaleSocket(at path: String) throws {
    var info = stat()
    guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFSOCK else { return }
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return }
    defer { close(fd) }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return }
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        raw.copyBytes(from: bytes)
        raw[bytes.count] = 0
    }
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    if connected == 0 { throw SocketInUseError(path: path) }
    unlink(path)
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
