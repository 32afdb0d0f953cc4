#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import RTMP
import StreamrRPC

/// What a publisher's media goes to once its publish was accepted.
public protocol RTMPPublishSink: Sendable {
    /// Audio, video or data (`@setDataFrame` already stripped), in order, on the publisher's loop.
    func media(_ message: RTMPMessage)
    /// The end of one read from the publisher's socket: time to write to the viewers.
    func flush()
    /// The publisher stopped or vanished; `reason` is for the journal.
    func unpublished(reason: String)
}

/// The decisions an RTMP server needs from its daemon.
public protocol RTMPServerDelegate: Sendable {
    /// Checks a publish request (e.g. the stream key, with the coordinator). Returns the sink
    /// for its media, or a reason to refuse it (sent to the client as NetStream.Publish.BadName).
    func publish(app: String, key: String, peer: String) async -> Result<any RTMPPublishSink, RTMPRefusal>
    /// The live stream a player asks for, if it is live.
    func play(app: String, name: String) -> LiveStream?
}

public struct RTMPRefusal: Error, Sendable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// An RTMP listener (publish and play): NIO moves bytes, `RTMPServerConnection` (the pure RTMP
/// module) decides, and the delegate says who may publish what.
public final class RTMPServer: ListeningServer {
    public let address: ListenAddress
    private let channel: any Channel
    private let children: ChildChannels

    public var localAddress: SocketAddress? { channel.localAddress }

    private init(address: ListenAddress, channel: any Channel, children: ChildChannels) {
        self.address = address; self.channel = channel; self.children = children
    }

    public static func bind(_ address: ListenAddress, delegate: any RTMPServerDelegate,
                            hmac: @escaping RTMPHMACSHA256, logger: Logger,
                            group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> RTMPServer {
        let children = ChildChannels()
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.so_keepalive), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            // A player whose socket has 4 MiB queued is behind: it skips to the next keyframe.
            .childChannelOption(.writeBufferWaterMark, value: .init(low: 1 << 20, high: 4 << 20))
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    children.add(channel)
                    let handler = RTMPConnectionHandler(delegate: delegate, hmac: hmac, logger: logger)
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
        let server: any Channel
        switch address {
        case .tcp(let host, let port): server = try await bootstrap.bind(host: host, port: port).get()
        case .unix(let path): server = try await bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).get()
        case .inherited(let fd, _): server = try await bootstrap.withBoundSocket(fd).get()
        }
        return RTMPServer(address: address, channel: server, children: children)
    }

    /// Serves until cancelled (graceful shutdown), then closes the listener and every connection.
    public func run() async throws {
        try await withTaskCancellationHandler {
            try await channel.closeFuture.get()
        } onCancel: {
            channel.close(promise: nil)
            children.closeAll()
        }
    }
}

/// Open connections, so shutdown can close them.
final class ChildChannels: Sendable {
    private let channels = NIOLockedValueBox([ObjectIdentifier: any Channel]())
    func add(_ channel: any Channel) {
        let key = ObjectIdentifier(channel)
        channels.withLockedValue { $0[key] = channel }
        channel.closeFuture.whenComplete { [self] _ in channels.withLockedValue { _ = $0.removeValue(forKey: key) } }
    }
    func closeAll() {
        for channel in channels.withLockedValue({ Array($0.values) }) { channel.close(promise: nil) }
    }
}

/// One RTMP connection: publisher or player.
final class RTMPConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var connection: RTMPServerConnection
    private let delegate: any RTMPServerDelegate
    private var logger: Logger
    private var sink: (any RTMPPublishSink)?
    private var player: (stream: LiveStream, viewer: DirectViewer)?
    private var context: ChannelHandlerContext?
    private var closing = false

    init(delegate: any RTMPServerDelegate, hmac: @escaping RTMPHMACSHA256, logger: Logger) {
        var configuration = RTMPServerSession.Configuration()
        configuration.chunkSize = UInt32(LiveFrame.rtmpChunkSize)
        connection = RTMPServerConnection(hmac: hmac, configuration: configuration)
        self.delegate = delegate; self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        logger[metadataKey: "peer"] = "\(context.channel.remoteAddress.map { "\($0)" } ?? "?")"
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        perform(connection.receive(bytes), context: context)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        sink?.flush()
        context.flush()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let sink { self.sink = nil; sink.unpublished(reason: closing ? "closed" : "connection lost") }
        if let player { self.player = nil; player.stream.remove(player.viewer) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A viewer that just goes away resets the connection: that is not worth a notice.
        if let io = error as? IOError, io.errnoCode == ECONNRESET || io.errnoCode == EPIPE {
            logger.debug("rtmp connection reset by peer")
        } else {
            logger.notice("rtmp connection error: \(error)", metadata: ["event": "rtmp_connection_error"])
        }
        context.close(promise: nil)
    }

    private func perform(_ actions: [RTMPServerSession.Action], context: ChannelHandlerContext) {
        for action in actions {
            switch action {
            case .send(let bytes):
                context.write(wrapOutboundOut(ByteBuffer(bytes: bytes)), promise: nil)
            case .media(let message):
                sink?.media(message)
            case .publishRequested(let app, let key):
                requestPublish(app: app, key: key, context: context)
            case .playRequested(let app, let name):
                startPlay(app: app, name: name, context: context)
            case .unpublished:
                if let sink { self.sink = nil; sink.unpublished(reason: "unpublished") }
            case .close(let reason):
                logger.notice("rtmp connection closed: \(reason)", metadata: ["event": "rtmp_connection_closed", "reason": "\(reason)"])
                closing = true
                // The last replies (e.g. Publish.BadName) go out before the close.
                context.flush()
                context.close(promise: nil)
                return
            }
        }
        context.flush()
    }

    private func requestPublish(app: String, key: String, context: ChannelHandlerContext) {
        let delegate = self.delegate
        let peer = "\(context.channel.remoteAddress.map { "\($0)" } ?? "?")"
        let loop = context.eventLoop
        let bound = NIOLoopBound(self, eventLoop: loop)
        Task {
            let decision = await delegate.publish(app: app, key: key, peer: peer)
            loop.execute {
                let handler = bound.value
                guard let context = handler.context, context.channel.isActive else {
                    if case .success(let sink) = decision { sink.unpublished(reason: "connection lost") }
                    return
                }
                switch decision {
                case .success(let sink):
                    handler.sink = sink
                    handler.perform(handler.connection.session.acceptPublish(), context: context)
                case .failure(let refusal):
                    handler.perform(handler.connection.session.rejectPublish(reason: refusal.reason), context: context)
                }
            }
        }
    }

    private func startPlay(app: String, name: String, context: ChannelHandlerContext) {
        guard let stream = delegate.play(app: app, name: name) else {
            perform(connection.session.rejectPlay(reason: "stream `\(name)` is not live"), context: context)
            return
        }
        perform(connection.session.acceptPlay(), context: context)
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let channel = context.channel
        let viewer = DirectViewer(bytes: { $0.rtmp }, isWritable: { channel.isWritable }, send: { buffers in
            channel.eventLoop.execute {
                for buffer in buffers { channel.write(buffer, promise: nil) }
                channel.flush()
            }
        }, onEnded: {
            // The publisher went away: Stream EOF and UnpublishNotify (after the last frames).
            channel.eventLoop.execute {
                let handler = bound.value
                guard let context = handler.context else { return }
                handler.player = nil
                handler.perform(handler.connection.session.streamEnded(), context: context)
            }
        })
        player = (stream, viewer)
        if stream.add(viewer) == nil {
            viewer.deliver(.ended)
        }
    }
}
