import NIOCore
import StreamrWire

/// What a Streamr connection writes: an envelope to encode, or frames already encoded once
/// for many connections (a relay's media fan-out shares one buffer of framed envelopes).
public enum RPCOutbound: Sendable {
    case envelope(Envelope)
    case framed(ByteBuffer)
}

/// Encodes outbound envelopes as length-delimited frames; passes pre-framed bytes through.
final class FrameEncoderHandler: ChannelOutboundHandler {
    typealias OutboundIn = RPCOutbound
    typealias OutboundOut = ByteBuffer
    private let encoder: EnvelopeFrameEncoder

    init(maxFrameBytes: Int) { encoder = EnvelopeFrameEncoder(maxFrameBytes: maxFrameBytes) }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .framed(let bytes):
            context.write(wrapOutboundOut(bytes), promise: promise)
        case .envelope(let envelope):
            var out = context.channel.allocator.buffer(capacity: 256)
            do {
                try encoder.encode(data: envelope, out: &out)
                context.write(wrapOutboundOut(out), promise: promise)
            } catch {
                promise?.fail(error)
            }
        }
    }
}

/// Length-delimited envelopes in, `Envelope`s out (EnvelopeFrameDecoder), with a deadline for
/// a frame that has started to arrive: a peer that sends part of a frame and then stalls is
/// cut off after `partialFrameTimeout` instead of holding the connection (and its buffer)
/// forever. A connection that ends inside a frame reports `FrameError.truncated`.
final class FrameDecoderHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = Envelope

    private var decoder: EnvelopeFrameDecoder
    private var buffer: ByteBuffer?
    private let partialFrameTimeout: TimeAmount
    private var deadline: Scheduled<Void>?
    private var failed = false

    init(maxFrameBytes: Int, partialFrameTimeout: TimeAmount) {
        decoder = EnvelopeFrameDecoder(maxFrameBytes: maxFrameBytes)
        self.partialFrameTimeout = partialFrameTimeout
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        var incoming = unwrapInboundIn(data)
        if buffer == nil || buffer!.readableBytes == 0 {
            buffer = incoming
        } else {
            buffer!.writeBuffer(&incoming)
        }
        do {
            while var current = buffer, let envelope = try decoder.decode(buffer: &current) {
                buffer = current
                context.fireChannelRead(wrapInboundOut(envelope))
                if failed { return }
            }
        } catch {
            failed = true
            cancelDeadline()
            context.fireErrorCaught(error)
            return
        }
        if let remaining = buffer, remaining.readableBytes > 0 {
            if remaining.readerIndex > 64 * 1024 { buffer!.discardReadBytes() }
            armDeadline(context: context)
        } else {
            buffer = nil
            cancelDeadline()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelDeadline()
        if !failed, let remaining = buffer, remaining.readableBytes > 0 {
            failed = true
            context.fireErrorCaught(FrameError.truncated(received: remaining.readableBytes))
        }
        buffer = nil
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { cancelDeadline() }

    private func armDeadline(context: ChannelHandlerContext) {
        guard deadline == nil else { return }
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: partialFrameTimeout) {
            let (handler, context) = bound.value
            handler.deadline = nil
            guard !handler.failed, let remaining = handler.buffer, remaining.readableBytes > 0 else { return }
            handler.failed = true
            context.fireErrorCaught(FrameError.stalled(received: remaining.readableBytes,
                                                       seconds: Int(handler.partialFrameTimeout.nanoseconds / 1_000_000_000)))
        }
    }

    private func cancelDeadline() {
        deadline?.cancel()
        deadline = nil
    }
}

@available(*, unavailable) extension FrameEncoderHandler: Sendable {}
@available(*, unavailable) extension FrameDecoderHandler: Sendable {}
