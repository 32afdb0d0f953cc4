import NIOCore

/// Fired once the handshake completes, carrying the peer's certificate if it sent one.
public struct TLSHandshakeCompleted: Sendable {
    public let peerCertificate: Certificate?
    public let version: String
}

/// TLS over a NIO channel with system OpenSSL: ciphertext below, plaintext above.
/// Application writes made before the handshake completes are held and sent after.
public final class TLSHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    private enum State { case idle, handshaking, active, closing, closed }

    private let connection: TLSConnection
    private var state = State.idle
    private var pendingWrites: [(ByteBuffer, EventLoopPromise<Void>?)] = []
    private var pendingFlush = false
    /// Plaintext written since the last flush: encrypted together at the flush, so a burst
    /// of small writes becomes as few TLS records as fit (16 KiB each), not one per write.
    private var unflushed: [(ByteBuffer, EventLoopPromise<Void>?)] = []
    private var receivedCloseNotify = false

    public private(set) var peerCertificate: Certificate?

    public init(context: TLSContext) throws { connection = try context.makeConnection() }

    public func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { startHandshake(context: context) }
    }

    public func channelActive(context: ChannelHandlerContext) {
        startHandshake(context: context)
        context.fireChannelActive()
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let ciphertext = unwrapInboundIn(data)
        guard state != .closed else { return }
        connection.receive(ciphertext)
        if state == .handshaking || state == .idle { advanceHandshake(context: context) }
        if state == .active || state == .closing { readPlaintext(context: context) }
        flushNetworkOutput(context: context)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        let wasOpen = state == .active || state == .handshaking
        state = .closed
        failPendingWrites(TLSError(.closed, "connection closed"))
        if wasOpen && !receivedCloseNotify {
            context.fireErrorCaught(TLSError(.uncleanShutdown, "connection closed without close_notify"))
        }
        context.fireChannelInactive()
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let plaintext = unwrapOutboundIn(data)
        switch state {
        case .idle, .handshaking:
            pendingWrites.append((plaintext, promise))
        case .active:
            unflushed.append((plaintext, promise))
        case .closing, .closed:
            promise?.fail(TLSError(.closed, "write after close"))
        }
    }

    public func flush(context: ChannelHandlerContext) {
        if state == .active {
            encryptUnflushed(context: context)
            context.flush()
        } else {
            pendingFlush = true
        }
    }

    public func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        guard mode == .all, state == .active else {
            context.close(mode: mode, promise: promise)
            return
        }
        // What was written goes out first; then close_notify, then the socket closes without
        // waiting for the peer's reply.
        encryptUnflushed(context: context)
        state = .closing
        connection.shutdown()
        flushNetworkOutput(context: context)
        context.close(mode: .all, promise: promise)
    }

    // MARK: - Internals

    private func startHandshake(context: ChannelHandlerContext) {
        guard state == .idle else { return }
        state = .handshaking
        advanceHandshake(context: context)
        flushNetworkOutput(context: context)
    }

    private func advanceHandshake(context: ChannelHandlerContext) {
        state = .handshaking
        switch connection.handshake() {
        case .incomplete:
            break
        case .complete:
            let expected = connection.context.configuration.expectedPeer
            if connection.context.configuration.role == .client, !expected.admits(connection.peerCertificate) {
                let name = connection.peerCertificate?.commonName ?? "none"
                return fail(context: context, TLSError(.handshakeFailed,
                    "the server's certificate (\(name)) is not the one expected (\(expected)): another node's certificate is not the host's"))
            }
            state = .active
            peerCertificate = connection.peerCertificate
            context.fireUserInboundEventTriggered(TLSHandshakeCompleted(peerCertificate: peerCertificate,
                                                                        version: connection.negotiatedVersion))
            unflushed = pendingWrites
            pendingWrites = []
            if pendingFlush || !unflushed.isEmpty {
                pendingFlush = false
                encryptUnflushed(context: context)
                context.flush()
            }
        case .failed(let error):
            fail(context: context, error)
        }
    }

    private func readPlaintext(context: ChannelHandlerContext) {
        var plaintext = context.channel.allocator.buffer(capacity: 16_384)
        let outcome = connection.readPlaintext(into: &plaintext)
        if plaintext.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(plaintext)) }
        switch outcome {
        case .incomplete:
            break
        case .complete:
            receivedCloseNotify = true
            if state == .active {
                state = .closing
                connection.shutdown()
                flushNetworkOutput(context: context)
                context.close(promise: nil)
            }
        case .failed(let error):
            fail(context: context, error)
        }
    }

    /// Encrypts everything written since the last flush as one plaintext run (small buffers
    /// are joined first, so OpenSSL fills whole records) into one ciphertext write whose
    /// completion completes every write's promise.
    private func encryptUnflushed(context: ChannelHandlerContext) {
        guard !unflushed.isEmpty else { return }
        let writes = unflushed
        unflushed = []
        var plaintext: ByteBuffer
        if writes.count == 1 {
            plaintext = writes[0].0
        } else {
            plaintext = context.channel.allocator.buffer(capacity: writes.reduce(0) { $0 + $1.0.readableBytes })
            for (buffer, _) in writes { plaintext.writeImmutableBuffer(buffer) }
        }
        let promises = writes.compactMap(\.1)
        let promise: EventLoopPromise<Void>? = promises.isEmpty ? nil : promises.count == 1 ? promises[0] : {
            let combined = context.eventLoop.makePromise(of: Void.self)
            for p in promises { combined.futureResult.cascade(to: p) }
            return combined
        }()
        switch connection.writePlaintext(plaintext) {
        case .complete, .incomplete:
            var out = context.channel.allocator.buffer(capacity: plaintext.readableBytes + 64 + plaintext.readableBytes / 512)
            connection.takeNetworkOutput(into: &out)
            context.write(wrapOutboundOut(out), promise: promise)
        case .failed(let error):
            promise?.fail(error)
            fail(context: context, error)
        }
    }

    private func flushNetworkOutput(context: ChannelHandlerContext) {
        guard connection.hasNetworkOutput else { return }
        var out = context.channel.allocator.buffer(capacity: 4096)
        connection.takeNetworkOutput(into: &out)
        context.writeAndFlush(wrapOutboundOut(out), promise: nil)
    }

    /// Sends any alert OpenSSL queued, reports the error and closes the connection.
    private func fail(context: ChannelHandlerContext, _ error: TLSError) {
        guard state != .closed else { return }
        state = .closed
        failPendingWrites(error)
        flushNetworkOutput(context: context)
        context.fireErrorCaught(error)
        context.close(promise: nil)
    }

    private func failPendingWrites(_ error: TLSError) {
        let writes = pendingWrites + unflushed
        pendingWrites = []
        unflushed = []
        for (_, promise) in writes { promise?.fail(error) }
    }
}

@available(*, unavailable)
extension TLSHandler: Sendable {}
