import NIOConcurrencyHelpers
import NIOCore
import StreamrTLS
import StreamrWire

/// How a Streamr connection's pipeline is built: TLS (optional), then
/// length-delimited envelopes, then a handler that answers protocol errors.
public struct RPCPipeline: Sendable {
    public var tls: TLSContext?
    public var maxFrameBytes: Int
    /// Inbound envelopes buffered before the reader stops reading from the socket.
    public var inboundHighWatermark: Int

    /// How long a peer may take to complete the TLS handshake.
    public var handshakeTimeout: TimeAmount
    /// How long a frame that has started to arrive may take to complete.
    public var partialFrameTimeout: TimeAmount
    /// Servers with TLS: how long a peer without a client certificate (enrolment) may stay
    /// connected, and how many such connections one address may have at once.
    public var unauthenticatedLifetime: TimeAmount
    public var unauthenticatedPerAddress: Int

    public init(tls: TLSContext? = nil, maxFrameBytes: Int = Framing.defaultMaxFrameBytes, inboundHighWatermark: Int = 32,
                handshakeTimeout: TimeAmount = .seconds(10), partialFrameTimeout: TimeAmount = .seconds(15),
                unauthenticatedLifetime: TimeAmount = .seconds(30), unauthenticatedPerAddress: Int = 8) {
        self.tls = tls; self.maxFrameBytes = maxFrameBytes; self.inboundHighWatermark = inboundHighWatermark
        self.handshakeTimeout = handshakeTimeout; self.partialFrameTimeout = partialFrameTimeout
        self.unauthenticatedLifetime = unauthenticatedLifetime; self.unauthenticatedPerAddress = unauthenticatedPerAddress
    }

    /// Adds the handlers and wraps the channel. Must run on the channel's event loop.
    /// The returned future completes when the TLS handshake does (at once without TLS).
    func configure(_ channel: any Channel) throws -> (NIOAsyncChannel<Envelope, RPCOutbound>, EventLoopFuture<Certificate?>) {
        let handshake = channel.eventLoop.makePromise(of: Certificate?.self)
        let ops = channel.pipeline.syncOperations
        if let tls {
            try ops.addHandler(TLSHandler(context: tls))
            try ops.addHandler(HandshakeObserver(promise: handshake, timeout: handshakeTimeout))
        } else {
            handshake.succeed(nil)
        }
        try ops.addHandler(FrameDecoderHandler(maxFrameBytes: maxFrameBytes, partialFrameTimeout: partialFrameTimeout))
        try ops.addHandler(FrameEncoderHandler(maxFrameBytes: maxFrameBytes))
        try ops.addHandler(ProtocolErrorHandler())
        let configuration = NIOAsyncChannel<Envelope, RPCOutbound>.Configuration(
            backPressureStrategy: .init(lowWatermark: max(1, inboundHighWatermark / 2), highWatermark: inboundHighWatermark))
        let async = try NIOAsyncChannel<Envelope, RPCOutbound>.accepted(channel, configuration: configuration)
        return (async, handshake.futureResult)
    }
}

/// Completes a promise with the peer certificate once TLS is up, or fails it.
final class HandshakeObserver: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    private var promise: EventLoopPromise<Certificate?>?
    private let timeout: TimeAmount
    private var timer: Scheduled<Void>?

    init(promise: EventLoopPromise<Certificate?>, timeout: TimeAmount) { self.promise = promise; self.timeout = timeout }

    func handlerAdded(context: ChannelHandlerContext) {
        // Peers that connect and never finish the handshake are cut off.
        let this = NIOLoopBound(self, eventLoop: context.eventLoop)
        let channel = context.channel
        timer = context.eventLoop.scheduleTask(in: timeout) { [timeout] in
            this.value.promise?.fail(TLSError(.handshakeFailed, "no TLS handshake within \(timeout.nanoseconds / 1_000_000) ms"))
            this.value.promise = nil
            channel.close(promise: nil)
        }
    }

    /// Also reached when a connect fails before the channel was ever active: the waiter must
    /// hear about it (an unfulfilled promise is a crash in NIO's debug builds).
    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        promise?.fail(TLSError(.handshakeFailed, "the connection closed before the TLS handshake completed"))
        promise = nil
    }


    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let done = event as? TLSHandshakeCompleted {
            timer?.cancel()
            promise?.succeed(done.peerCertificate)
            promise = nil
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise?.fail(error)
        promise = nil
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise?.fail(TLSError(.handshakeFailed, "connection closed during the TLS handshake"))
        promise = nil
        context.fireChannelInactive()
    }
}

/// A malformed or oversized frame is answered with an Error envelope, then the
/// connection closes; the error still travels on so the owner can log it.
final class ProtocolErrorHandler: ChannelDuplexHandler {
    typealias InboundIn = Envelope
    typealias InboundOut = Envelope
    typealias OutboundIn = RPCOutbound
    typealias OutboundOut = RPCOutbound

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let frameError = error as? FrameError, context.channel.isActive {
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.envelope(Envelope(.error(frameError.errorMessage))))).whenComplete { _ in
                channel.close(promise: nil)
            }
        } else if !(error is TLSError) {
            context.close(promise: nil)
        }
        context.fireErrorCaught(error)
    }
}

@available(*, unavailable) extension HandshakeObserver: Sendable {}
@available(*, unavailable) extension ProtocolErrorHandler: Sendable {}
