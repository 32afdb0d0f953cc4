import FoundationEssentials
import Glibc
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import StreamrTLS
import Validation

/// One HTTP/1.1 GET as a player sends it: the request line and the planned headers written
/// byte for byte in their order (no header of ours added), the response read with NIOHTTP1's
/// decoder. Every wait has a deadline (connect, first byte, the whole exchange) and every read
/// a bound (the body is kept up to `readLimit(status)`; reading stops there, as a seeking
/// player stops, and the connection is closed). A live watch ends `watchMs` after its first
/// byte. What happened comes back as a `Validation.HTTPObservation`.
public struct ProbeRequest: Sendable {
    public var host: String
    public var port: Int
    public var path: String
    public var headers: [HTTPHeader]
    public var connectMs: Int
    public var firstByteMs: Int
    public var totalMs: Int
    /// Live watches: stop this long after the first body byte (the watch's end, not an error).
    public var watchMs: Int?
    /// Body bytes to keep for a status (more are counted, then the connection is closed).
    public var readLimit: @Sendable (Int) -> Int
    /// SHA-256 of the kept body (whole-chunk probes).
    public var digest: Bool

    public init(host: String, port: Int, path: String, headers: [HTTPHeader], connectMs: Int = 3000, firstByteMs: Int = 5000,
                totalMs: Int = 10_000, watchMs: Int? = nil, digest: Bool = false, readLimit: @escaping @Sendable (Int) -> Int) {
        self.host = host; self.port = port; self.path = path; self.headers = headers; self.connectMs = connectMs
        self.firstByteMs = firstByteMs; self.totalMs = totalMs; self.watchMs = watchMs; self.digest = digest; self.readLimit = readLimit
    }

    /// The request's bytes: request line, headers as given, blank line.
    public var wireBytes: [UInt8] {
        var text = "GET \(path) HTTP/1.1\r\n"
        for h in headers { text += "\(h.name): \(h.value)\r\n" }
        text += "\r\n"
        return Array(text.utf8)
    }
}

public enum ProbeHTTP {
    /// Runs one exchange; never throws (every failure is an observation).
    public static func fetch(_ request: ProbeRequest, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                             clock: @escaping @Sendable () -> Int64 = wallMs) async -> HTTPObservation {
        let startedAt = clock()
        let started = NIODeadline.now()
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(.milliseconds(Int64(max(1, request.connectMs))))
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelOption(.socketOption(.so_rcvbuf), value: 1 << 20)
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: request.host, port: request.port).get()
        } catch {
            return HTTPObservation(error: transportError(error, connecting: true), totalMs: elapsed(since: started), startedAtMs: startedAt)
        }
        let future: EventLoopFuture<HTTPObservation>
        do {
            future = try await channel.eventLoop.submit {
                let collector = ResponseCollector(request: request, started: started, startedAtMs: startedAt, eventLoop: channel.eventLoop)
                let operations = channel.pipeline.syncOperations
                // The decoder learns the request's method from the request part written past it;
                // the writer nearest the socket turns that into exactly `wireBytes`.
                try operations.addHandler(RequestWriter(bytes: request.wireBytes))
                try operations.addHandler(ByteToMessageHandler(HTTPResponseDecoder(leftOverBytesStrategy: .dropBytes)))
                try operations.addHandler(collector)
                collector.armTimers(channel)
                let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: request.path)
                // A failed write closes the channel, which ends the exchange as a reset.
                channel.writeAndFlush(HTTPClientRequestPart.head(head)).whenFailure { _ in channel.close(promise: nil) }
                return collector.promise.futureResult
            }.get()
        } catch {
            channel.close(promise: nil)
            return HTTPObservation(error: .reset, totalMs: elapsed(since: started), startedAtMs: startedAt)
        }
        // Cancelled (the daemon is stopping): the connection closes and the exchange ends at once.
        let result = await withTaskCancellationHandler {
            try? await future.get()
        } onCancel: {
            channel.close(promise: nil)
        }
        return result ?? HTTPObservation(error: .reset, totalMs: elapsed(since: started), startedAtMs: startedAt)
    }

    public static func wallMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    static func elapsed(since start: NIODeadline) -> Int {
        Int((NIODeadline.now() - start).nanoseconds / 1_000_000)
    }

    static func transportError(_ error: any Error, connecting: Bool) -> TransportError {
        if let error = error as? ChannelError, case .connectTimeout = error { return .connectTimeout }
        if error is NIOConnectionError || error is IOError {
            let code = (error as? IOError)?.errnoCode ?? ((error as? NIOConnectionError)?.connectionErrors.first?.error as? IOError)?.errnoCode
            switch code {
            case ECONNREFUSED: return .refused
            case EHOSTUNREACH, ENETUNREACH, EADDRNOTAVAIL: return .unreachable
            case ETIMEDOUT: return connecting ? .connectTimeout : .bodyTimeout
            default: return connecting ? .unreachable : .reset
            }
        }
        if let error = error as? NIOConnectionError {
            if error.connectionErrors.contains(where: { ($0.error as? ChannelError).map { if case .connectTimeout = $0 { true } else { false } } ?? false }) {
                return .connectTimeout
            }
            return .unreachable
        }
        if error is HTTPParserError { return .badResponse }
        return connecting ? .unreachable : .reset
    }
}

/// Writes the request's exact bytes (request line and headers in the planned order, nothing
/// added) for the request head that passes it; nearest the socket.
final class RequestWriter: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = ByteBuffer
    let bytes: [UInt8]
    init(bytes: [UInt8]) { self.bytes = bytes }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .head = unwrapOutboundIn(data) else { promise?.succeed(()); return }
        context.write(wrapOutboundOut(ByteBuffer(bytes: bytes)), promise: promise)
    }
}

@available(*, unavailable)
extension RequestWriter: Sendable {}

/// Collects one response on its channel's event loop (all state is touched there only).
final class ResponseCollector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart

    let request: ProbeRequest
    let started: NIODeadline
    let startedAtMs: Int64
    let promise: EventLoopPromise<HTTPObservation>
    private var status: Int?
    private var headers: [HTTPHeader] = []
    private var body: [UInt8] = []
    private var bodyBytes = 0
    private var limit = 0
    private var ttfbMs: Int?
    private var error: TransportError?
    private var done = false
    private var timers: [Scheduled<Void>] = []

    init(request: ProbeRequest, started: NIODeadline, startedAtMs: Int64, eventLoop: any EventLoop) {
        self.request = request; self.started = started; self.startedAtMs = startedAtMs
        promise = eventLoop.makePromise(of: HTTPObservation.self)
    }

    /// Deadlines, from the request: the first body byte (or the end) within `firstByteMs`, and
    /// the whole exchange within `totalMs`. Called on the channel's event loop.
    func armTimers(_ channel: any Channel) {
        let loop = channel.eventLoop
        let bound = NIOLoopBound(self, eventLoop: loop)
        let sinceStart = Int64(ProbeHTTP.elapsed(since: started))
        timers.append(loop.scheduleTask(in: .milliseconds(max(1, Int64(request.firstByteMs) - sinceStart))) {
            if bound.value.ttfbMs == nil { bound.value.finish(channel, error: .firstByteTimeout) }
        })
        timers.append(loop.scheduleTask(in: .milliseconds(max(1, Int64(request.totalMs) - sinceStart))) {
            // A live watch that runs to its end is cut by its own timer first; this is the backstop.
            let c = bound.value
            c.finish(channel, error: c.ttfbMs == nil ? .firstByteTimeout : (c.request.watchMs == nil ? .bodyTimeout : nil))
        })
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !done else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            if head.status.code < 200 { return }  // 1xx: the real head follows
            status = Int(head.status.code)
            headers = head.headers.map { HTTPHeader($0.name, $0.value) }
            limit = max(0, request.readLimit(Int(head.status.code)))
        case .body(var buffer):
            if ttfbMs == nil {
                ttfbMs = ProbeHTTP.elapsed(since: started)
                if let watch = request.watchMs {
                    let channel = context.channel
                    let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
                    timers.append(context.eventLoop.scheduleTask(in: .milliseconds(Int64(watch))) { bound.value.finish(channel, error: nil) })
                }
            }
            bodyBytes += buffer.readableBytes
            let room = limit - body.count
            if room > 0, let bytes = buffer.readBytes(length: min(room, buffer.readableBytes)) { body += bytes }
            // Past what is kept: a player that has what it asked for stops reading.
            if body.count >= limit && bodyBytes > limit { finish(context.channel, error: nil) }
        case .end:
            finish(context.channel, error: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        // Closed by the peer before the response ended: a cut (a clean end is `.end`).
        finish(context.channel, error: status == nil ? .reset : (request.watchMs != nil && ttfbMs != nil ? nil : .reset))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let kind: TransportError = error is HTTPParserError ? (status == nil ? .badResponse : .reset) : ProbeHTTP.transportError(error, connecting: false)
        finish(context.channel, error: kind)
    }

    private func finish(_ channel: any Channel, error: TransportError?) {
        guard !done else { return }
        done = true
        for timer in timers { timer.cancel() }
        timers = []
        promise.succeed(observation(error: error))
        channel.close(promise: nil)
    }

    private func observation(error: TransportError?) -> HTTPObservation {
        HTTPObservation(error: error, status: status, headers: headers, body: body, bodyBytes: bodyBytes,
                        bodyDigest: request.digest ? SHA256Digest.hash(body) : nil, ttfbMs: ttfbMs,
                        totalMs: ProbeHTTP.elapsed(since: started), startedAtMs: startedAtMs)
    }
}

@available(*, unavailable)
extension ResponseCollector: Sendable {}
