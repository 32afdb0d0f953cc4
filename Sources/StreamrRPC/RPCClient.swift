import NIOCore
import NIOPosix
import StreamrTLS
import StreamrWire

/// Where a client connects.
public enum ConnectAddress: Sendable, CustomStringConvertible {
    case tcp(host: String, port: Int)
    case unix(path: String)

    public var description: String {
        switch self {
        case .tcp(let host, let port): "\(host):\(port)"
        case .unix(let path): path
        }
    }
}

public enum RPCClient {
    /// Connects (and completes the TLS handshake), runs `body` with the connection
    /// while a background task reads answers and pushes, then closes.
    /// Pushes and requests from the peer go to `handler` (nil: requests are refused).
    public static func withConnection<R: Sendable>(
        to address: ConnectAddress, pipeline: RPCPipeline, connectTimeout: Duration = .seconds(10),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        handler: RPCConnection.Handler? = nil,
        _ body: @Sendable (RPCConnection) async throws -> R
    ) async throws -> R {
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(.milliseconds(connectTimeout.components.seconds * 1000))
            .channelOption(.socketOption(.so_keepalive), value: 1)
        let initializer: @Sendable (any Channel) -> EventLoopFuture<(NIOAsyncChannel<Envelope, RPCOutbound>, EventLoopFuture<Certificate?>)> = { channel in
            channel.eventLoop.makeCompletedFuture { try pipeline.configure(channel) }
        }
        let (channel, handshake): (NIOAsyncChannel<Envelope, RPCOutbound>, EventLoopFuture<Certificate?>)
        switch address {
        case .tcp(let host, let port):
            (channel, handshake) = try await bootstrap.channelOption(.tcpOption(.tcp_nodelay), value: 1)
                .connect(host: host, port: port, channelInitializer: initializer)
        case .unix(let path):
            (channel, handshake) = try await bootstrap.connect(unixDomainSocketPath: path, channelInitializer: initializer)
        }
        let remote = channel.channel.remoteAddress
        return try await channel.executeThenClose { inbound, outbound in
            let certificate = try await handshake.get()
            let connection = RPCConnection(channel: channel.channel, peer: PeerInfo(remoteAddress: remote, certificate: certificate))
            return try await withThrowingTaskGroup(of: R?.self) { group in
                group.addTask {
                    try await connection.run(inbound: inbound, handler: handler)
                    return nil
                }
                let result = try await body(connection)
                group.cancelAll()
                return result
            }
        }
    }
}
