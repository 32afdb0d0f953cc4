#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import RTMP
import StreamrRPC
import Synchronization

/// What a publisher's media goes to once its publish was accepted.
public protocol RTMPPublishSink: Sendable {
    /// Audio, video or data (`@setDataFrame` already stripped), in order, on the publisher's loop.
    func media(_ message: RTMPMessage)
    /// The end of one read from the publisher's socket: time to write to the viewers.
    func flush()
    /// The publisher stopped, vanished or went silent; `reason` is for the journal.
    func unpublished(reason: String)
}

/// One publishing connection, as the delegate sees it: how long it has been silent, and a way
/// to close it (a new publish with the key replaces a publisher that went silent).
public final class RTMPPublisher: Sendable {
    public let peer: String
    private let channel: any Channel
    private let lastReadMs: Synchronization.Atomic<Int64>

    init(peer: String, channel: any Channel) {
        self.peer = peer; self.channel = channel
        lastReadMs = Synchronization.Atomic(LiveClock.nowMs())
    }

    func touched(atMs: Int64) { lastReadMs.store(atMs, ordering: .relaxed) }

    /// Milliseconds since the publisher last sent anything.
    public func silentMs(nowMs: Int64 = LiveClock.nowMs()) -> Int64 { nowMs - lastReadMs.load(ordering: .relaxed) }

    /// False once the connection has closed.
    public var isOpen: Bool { channel.isActive }

    /// Closes the connection; its sink hears `unpublished(reason:)`.
    public func close(reason: String) {
        channel.eventLoop.execute { [channel] in
            channel.pipeline.fireUserInboundEventTriggered(RTMPCloseRequest(reason: reason))
        }
    }
}

struct RTMPCloseRequest { let reason: String }

/// The decisions an RTMP server needs from its daemon.
public protocol RTMPServerDelegate: Sendable {
    /// Checks a publish request (e.g. the stream key, with the coordinator). Returns the sink
    /// for its media, or a reason to refuse it (sent to the client as NetStream.Publish.BadName).
    func publish(app: String, key: String, publisher: RTMPPublisher) async -> Result<any RTMPPublishSink, RTMPRefusal>
    /// The live stream a player asks for, if it is live.
    func play(app: String, name: String) -> LiveStream?
}

public struct RTMPRefusal: Error, Sendable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// How long an RTMP peer may take, and how far a player may fall behind.
public struct RTMPLimits: Sendable {
    /// From connect to an accepted publish or play.
    public var setupTimeoutMs: Int64 = 15_000
    /// A publisher that sends nothing for this long is dropped (its viewers wait out the
    /// reconnect grace): a Wi-Fi or NAT drop leaves a silent connection, not a closed one.
    public var publisherIdleMs: Int64 = 5_000
    public var viewers = ViewerLimits()
    public init() {}
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

    public static func bind(_ address: ListenAddress, delegate: any RTMPServerDelegate, limits: RTMPLimits = RTMPLimits(),
                            hmac: @escaping RTMPHMACSHA256, logger: Logger,
                            group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> RTMPServer {
        let children = ChildChannels()
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.so_keepalive), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            // A player with this much queued is behind: it skips to the next keyframe.
            .childChannelOption(.writeBufferWaterMark, value: limits.viewers.waterMark)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    children.add(channel)
                    let handler = RTMPConnectionHandler(delegate: delegate, limits: limits, hmac: hmac, logger: logger)
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
    private let limits: RTMPLimits
    private var logger: Logger
    private var sink: (any RTMPPublishSink)?
    private var publisher: RTMPPublisher?
    private var player: (stream: LiveStream, viewer: DirectViewer)?
    private var context: ChannelHandlerContext?
    private var closing = false
    private var closeReason: String?
    private var connectedMs = LiveClock.nowMs()
    private var timer: RepeatedTask?

    init(delegate: any RTMPServerDelegate, limits: RTMPLimits, hmac: @escaping RTMPHMACSHA256, logger: Logger) {
        var configuration = RTMPServerSession.Configuration()
        configuration.chunkSize = UInt32(LiveFrame.rtmpChunkSize)
        connection = RTMPServerConnection(hmac: hmac, configuration: configuration)
        self.delegate = delegate; self.limits = limits; self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        connectedMs = LiveClock.nowMs()
        logger[metadataKey: "peer"] = "\(context.channel.remoteAddress.map(\.displayIP) ?? "?")"
        // Once a second: a connection that never gets to publish or play, and a publisher that
        // went silent, are closed (every wait has a timeout).
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in
            bound.value.checkTimeouts()
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        self.context = nil
    }

    private func checkTimeouts() {
        guard let context, !closing else { return }
        let now = LiveClock.nowMs()
        if let publisher, sink != nil {
            let silent = publisher.silentMs(nowMs: now)
            if silent > limits.publisherIdleMs {
                close(context, reason: "the publisher sent nothing for \(silent / 1000) s", event: "publisher_timeout")
            }
        } else if player == nil, now - connectedMs > limits.setupTimeoutMs {
            close(context, reason: "no publish or play within \(limits.setupTimeoutMs / 1000) s", event: "rtmp_setup_timeout")
        }
    }

    /// `reset`: for a player that stopped reading (see Channel.closeWithReset).
    private func close(_ context: ChannelHandlerContext, reason: String, event: String, reset: Bool = false) {
        logger.notice("rtmp connection closed: \(reason)", metadata: ["event": "\(event)", "reason": "\(reason)"])
        closing = true
        closeReason = reason
        if reset { context.channel.closeWithReset() } else { context.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        publisher?.touched(atMs: LiveClock.nowMs())
        let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        perform(connection.receive(bytes), context: context)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        sink?.flush()
        context.flush()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let request = event as? RTMPCloseRequest, !closing {
            close(context, reason: request.reason, event: "publisher_replaced")
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let sink { self.sink = nil; sink.unpublished(reason: closeReason ?? (closing ? "closed" : "connection lost")) }
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
        let publisher = RTMPPublisher(peer: context.channel.remoteAddress.map(\.displayIP) ?? "?", channel: context.channel)
        self.publisher = publisher
        let loop = context.eventLoop
        let bound = NIOLoopBound(self, eventLoop: loop)
        Task {
            let decision = await delegate.publish(app: app, key: key, publisher: publisher)
            loop.execute {
                let handler = bound.value
                guard let context = handler.context, context.channel.isActive, !handler.closing else {
                    if case .success(let sink) = decision { sink.unpublished(reason: "connection lost") }
                    return
                }
                switch decision {
                case .success(let sink):
                    handler.sink = sink
                    publisher.touched(atMs: LiveClock.nowMs())
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
        // Batches reach the viewer on this loop (LiveStream hops once per loop), so its writes go
        // straight to the channel; anything else hops, in order behind what came before.
        let viewer = DirectViewer(kind: .rtmp, eventLoop: channel.eventLoop, meter: stream.meter, limits: limits.viewers,
                                  isWritable: { channel.isWritable },
                                  send: { buffers in
                                      guard channel.eventLoop.inEventLoop else {
                                          return channel.eventLoop.execute {
                                              for buffer in buffers { channel.write(buffer, promise: nil) }
                                              channel.flush()
                                          }
                                      }
                                      for buffer in buffers { channel.write(buffer, promise: nil) }
                                      channel.flush()
                                  },
                                  drop: { reason in
            channel.eventLoop.execute {
                guard let context = bound.value.context else { return }
                bound.value.close(context, reason: "player \(reason)", event: "viewer_dropped", reset: true)
            }
        }, onEnded: {
            // The stream ended (its reconnect grace ran out): Stream EOF and UnpublishNotify.
            channel.eventLoop.execute {
                let handler = bound.value
                guard let context = handler.context else { return }
                handler.player = nil
                handler.perform(handler.connection.session.streamEnded(), context: context)
            }
        })
        player = (stream, viewer)
        if stream.add(viewer) == nil { viewer.ended() }
    }
}
