import Logging
import NIOConcurrencyHelpers
import NIOCore
import StreamrTLS
import StreamrWire

/// Who is on the other end of a connection.
public struct PeerInfo: Sendable {
    public var remoteAddress: SocketAddress?
    /// The verified client/server certificate, when TLS is in use and one was sent.
    public var certificate: Certificate?
    /// Unix-socket peers: the kernel's SO_PEERCRED answer.
    public var credentials: PeerCredentials?

    public init(remoteAddress: SocketAddress? = nil, certificate: Certificate? = nil, credentials: PeerCredentials? = nil) {
        self.remoteAddress = remoteAddress; self.certificate = certificate; self.credentials = credentials
    }

    public var description: String {
        if let credentials { return "uid \(credentials.uid) pid \(credentials.pid)" }
        return remoteAddress?.displayAddress ?? "unknown peer"
    }
}

public enum RPCError: Error, CustomStringConvertible, Equatable {
    case connectionClosed
    case timedOut(Duration)
    case unexpectedReply(String)

    public var description: String {
        switch self {
        case .connectionClosed: "connection closed"
        case .timedOut(let d): "no answer within \(d)"
        case .unexpectedReply(let name): "unexpected reply: \(name)"
        }
    }
}

/// Serves one side of a Streamr connection: requests with correlated answers,
/// pushes in both directions, and backpressure (writers wait while the socket
/// is not writable; the reader stops reading while the handler is busy).
public final class RPCConnection: Sendable {
    /// Answers one inbound request or push. Return a body to answer a request now; return nil
    /// for a push, or for a request the handler answers later with `reply(to:_:)`.
    public typealias Handler = @Sendable (Envelope, RPCConnection) async throws -> Envelope.Body?

    public let peer: PeerInfo
    private let channel: any Channel
    private let window: WriteWindow
    private let state = NIOLockedValueBox(State())
    /// Writes handed over from other threads and not yet run on the event loop. A write made on
    /// the loop goes straight to the channel only when none is waiting: NIO writes inline on the
    /// loop and hops from elsewhere, so without this a relay's on-loop flush could overtake a
    /// join's ack and open chunk written a moment earlier from a task (the node then assembled
    /// the chunk out of order: right size, wrong SHA-256).
    private let hopsWaiting = NIOLockedValueBox(0)

    private struct State {
        var nextID: UInt64 = 1
        var pending: [UInt64: EventLoopPromise<Envelope>] = [:]
        var closed = false
        var closeHandlers: [@Sendable () -> Void] = []
    }

    /// The loop the connection's I/O runs on (a writer answering many connections groups its
    /// answers by it: one hop per loop, not one per answer).
    public var eventLoop: any EventLoop { channel.eventLoop }

    /// Writes go straight to `channel` through a `WriteWindow` of `writeWindowBytes`.
    init(channel: any Channel, peer: PeerInfo, writeWindowBytes: Int = 1 << 20) {
        self.channel = channel
        self.window = WriteWindow(limit: writeWindowBytes)
        self.peer = peer
    }

    /// Sends a request and waits for its answer. An `.error` answer is thrown as `ErrorMessage`.
    public func request(_ body: Envelope.Body, timeout: Duration = .seconds(30)) async throws -> Envelope.Body {
        // The waiter is registered before the request is written, so no answer can outrun it.
        let promise = eventLoop.makePromise(of: Envelope.self)
        let id: UInt64? = state.withLockedValue { state in
            guard !state.closed else { return nil }
            let id = state.nextID
            state.nextID += 1
            state.pending[id] = promise
            return id
        }
        guard let id else {
            // Every promise must be completed (NIO traps on a leaked one in debug builds).
            promise.fail(RPCError.connectionClosed)
            throw RPCError.connectionClosed
        }
        let timer = eventLoop.scheduleTask(in: .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000
                                                            + timeout.components.attoseconds / 1_000_000_000)) {
            self.state.withLockedValue { $0.pending.removeValue(forKey: id) }?.fail(RPCError.timedOut(timeout))
        }
        defer { timer.cancel() }
        let answer = try await withTaskCancellationHandler {
            do {
                try await send([Envelope(id: id, body)])
            } catch {
                state.withLockedValue { $0.pending.removeValue(forKey: id) }?.fail(error)
            }
            return try await promise.futureResult.get()
        } onCancel: {
            self.state.withLockedValue { $0.pending.removeValue(forKey: id) }?.fail(CancellationError())
        }
        if case .error(let error) = answer.body { throw error }
        return answer.body
    }

    /// Sends a message that expects no answer. Waits while the peer is not keeping up.
    public func push(_ body: Envelope.Body) async throws {
        try await send([Envelope(body)])
    }

    /// Answers `request` (for handlers that answer later, or out of order).
    public func reply(to request: Envelope, _ body: Envelope.Body) async throws {
        precondition(request.id != 0, "a push has no one to answer")
        try await send([Envelope(replyTo: request.id, body)])
    }

    /// Answers request `id` without waiting (from any thread; written after anything handed
    /// over before it). For answers many of which are made at once, e.g. a batch of heartbeats
    /// just committed: the caller is not held while the peer reads.
    public func replyNow(to id: UInt64, _ body: Envelope.Body) {
        precondition(id != 0, "a push has no one to answer")
        pushFramed(Envelope(replyTo: id, body).framed(), force: true)
    }

    /// Sends several pushes with one flush.
    public func push(contentsOf bodies: [Envelope.Body]) async throws {
        try await send(bodies.map { Envelope($0) })
    }

    /// Sends `reason` as an error push, then closes the connection (e.g. the host disabled the
    /// node behind it). Returns at once; the close happens on the connection's event loop,
    /// after the error has been handed to the socket.
    public func close(reason: ErrorMessage?) {
        guard let reason else { channel.close(promise: nil); return }
        let promise = eventLoop.makePromise(of: Void.self)
        promise.futureResult.whenComplete { [channel] _ in channel.close(promise: nil) }
        inOrder { [channel] in channel.writeAndFlush(RPCOutbound.envelope(Envelope(.error(reason))), promise: promise) }
    }

    /// Runs `write` on the event loop after every write handed over before it, whatever thread
    /// the caller is on: inline when on the loop with nothing waiting, else one hop.
    private func inOrder(_ write: @escaping @Sendable () -> Void) {
        let loop = eventLoop
        if loop.inEventLoop, hopsWaiting.withLockedValue({ $0 == 0 }) { write(); return }
        hopsWaiting.withLockedValue { $0 += 1 }
        loop.execute { [hopsWaiting] in
            hopsWaiting.withLockedValue { $0 -= 1 }
            write()
        }
    }

    /// Runs `body` once, when the connection has closed (at once if it already has): for
    /// per-connection state kept elsewhere, such as a node's session.
    public func onClose(_ body: @escaping @Sendable () -> Void) {
        let closed = state.withLockedValue { state -> Bool in
            if !state.closed { state.closeHandlers.append(body) }
            return state.closed
        }
        if closed { body() }
    }

    /// Reads inbound envelopes until the peer closes, answering requests with `handler`.
    func run(inbound: NIOAsyncChannelInboundStream<Envelope>, handler: Handler?,
             closeAfterError: Bool = false) async throws {
        defer { failPending(RPCError.connectionClosed) }
        for try await envelope in inbound {
            if envelope.replyTo != 0 {
                let waiter = state.withLockedValue { $0.pending.removeValue(forKey: envelope.replyTo) }
                waiter?.succeed(envelope) // a late answer to a timed-out request is dropped
                continue
            }
            guard let handler else {
                if envelope.id != 0 {
                    try await send([Envelope(replyTo: envelope.id, .error(ErrorMessage(.unsupported, "\(envelope.body.name) not served here")))])
                }
                continue
            }
            let answer: Envelope.Body?
            do {
                answer = try await handler(envelope, self)
            } catch let error as ErrorMessage {
                // An unauthenticated peer gets one refusal, then the connection closes.
                if closeAfterError {
                    if envelope.id != 0 { try? await send([Envelope(replyTo: envelope.id, .error(error))]) }
                    throw CloseConnection(error)
                }
                answer = .error(error)
            } catch let error as CloseConnection {
                if envelope.id != 0 { try? await send([Envelope(replyTo: envelope.id, .error(error.reason))]) }
                throw error
            }
            if envelope.id != 0, let answer {
                try await send([Envelope(replyTo: envelope.id, answer)])
            }
        }
    }

    /// Hands `envelopes` to the channel (one flush) once the write window has room for
    /// them. Returns without waiting for the socket, so one writer can keep the pipe full;
    /// a write error closes the connection, which fails later sends.
    private func send(_ envelopes: [Envelope]) async throws {
        let bytes = envelopes.reduce(0) { $0 + $1.body.approximateSize }
        try await window.acquire(bytes)
        let promise = eventLoop.makePromise(of: Void.self)
        promise.futureResult.whenComplete { [window, channel] result in
            window.release(bytes)
            if case .failure = result { channel.close(promise: nil) }
        }
        inOrder { [channel] in
            for envelope in envelopes.dropLast() { channel.write(RPCOutbound.envelope(envelope), promise: nil) }
            channel.writeAndFlush(RPCOutbound.envelope(envelopes.last!), promise: promise)
        }
    }

    /// Writes frames encoded once for many connections (a relay's fan-out), on this
    /// connection's event loop, without waiting. Returns false — and writes nothing — while
    /// the peer is not keeping up (over `limit` bytes in flight, default the write window):
    /// the caller's lag policy decides.
    @discardableResult
    public func pushFramed(_ frames: ByteBuffer, force: Bool = false, limit: Int? = nil) -> Bool {
        let bytes = frames.readableBytes
        guard bytes > 0 else { return true }
        guard window.tryAcquire(bytes, force: force, limit: limit) else { return false }
        let promise = eventLoop.makePromise(of: Void.self)
        promise.futureResult.whenComplete { [window, channel] result in
            window.release(bytes)
            if case .failure = result { channel.close(promise: nil) }
        }
        inOrder { [channel] in channel.writeAndFlush(RPCOutbound.framed(frames), promise: promise) }
        return true
    }

    /// Bytes handed to the connection and not yet written to the socket.
    public var bytesInFlight: Int { window.pending }

    public var isClosed: Bool { state.withLockedValue { $0.closed } }

    private func failPending(_ error: any Error) {
        window.fail(RPCError.connectionClosed)
        let (waiters, handlers) = state.withLockedValue { state -> ([EventLoopPromise<Envelope>], [@Sendable () -> Void]) in
            state.closed = true
            defer { state.pending.removeAll(); state.closeHandlers.removeAll() }
            return (Array(state.pending.values), state.closeHandlers)
        }
        for waiter in waiters { waiter.fail(error) }
        for handler in handlers { handler() }
    }
}

/// Thrown by a handler to answer with `reason` and then close the connection
/// (e.g. a disabled node).
public struct CloseConnection: Error, CustomStringConvertible {
    public var reason: ErrorMessage
    public init(_ reason: ErrorMessage) { self.reason = reason }
    public var description: String { "closing connection: \(reason)" }
}
