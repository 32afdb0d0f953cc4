import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import StreamrRPC

/// A small HTTP/1.1 server for the daemons' public endpoints: the coordinator's `/watch`,
/// `/healthz` and `/metrics`, and the media endpoints (HTTP-FLV, HLS, chunks) that the
/// ingest and node agents serve. Requests are parsed by NIOHTTP1 (llhttp); each connection
/// is served in its own task, keep-alive included; a streaming response (live media) writes
/// through a writer that waits while the viewer's socket is not writable.
public final class HTTPServer: ListeningServer {
    typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

    private let serverChannel: NIOAsyncChannel<Connection, Never>
    public let address: ListenAddress
    private let logger: Logger
    let limits: HTTPLimits

    public var localAddress: SocketAddress? { serverChannel.channel.localAddress }

    private init(serverChannel: NIOAsyncChannel<Connection, Never>, address: ListenAddress, limits: HTTPLimits, logger: Logger) {
        self.serverChannel = serverChannel; self.address = address; self.limits = limits; self.logger = logger
    }

    public static func bind(_ address: ListenAddress, limits: HTTPLimits = HTTPLimits(), logger: Logger,
                            group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> HTTPServer {
        let perAddress = ConnectionLimiter(perAddress: limits.connectionsPerAddress)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.so_keepalive), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            // A live viewer with this much queued is behind: it skips to the next keyframe.
            .childChannelOption(.writeBufferWaterMark, value: .init(low: limits.viewerQueueBytes / 2, high: limits.viewerQueueBytes))
        let initializer: @Sendable (any Channel) -> EventLoopFuture<Connection> = { channel in
            channel.eventLoop.makeCompletedFuture {
                let remote = channel.remoteAddress
                guard perAddress.acquire(remote) else {
                    // Told in plain bytes by a handler in front of the HTTP ones, once the channel
                    // is active (a write from the initializer would go nowhere).
                    try channel.pipeline.syncOperations.addHandler(RefusingHandler())
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: false)
                    return try Connection.accepted(channel)
                }
                channel.closeFuture.whenComplete { _ in perAddress.release(remote) }
                try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                try channel.pipeline.syncOperations.addHandler(HTTPConnectionGuard(limits: limits))
                return try Connection.accepted(channel)
            }
        }
        let server: NIOAsyncChannel<Connection, Never>
        switch address {
        case .tcp(let host, let port):
            server = try await bootstrap.bind(host: host, port: port, childChannelInitializer: initializer)
        case .unix(let path):
            server = try await bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true,
                                              childChannelInitializer: initializer)
        case .inherited(let fd, _):
            server = try await bootstrap.bind(fd, childChannelInitializer: initializer)
        }
        return HTTPServer(serverChannel: server, address: address, limits: limits, logger: logger)
    }

    /// Accepts connections until cancelled or the listener closes.
    public func run(handler: @escaping HTTPHandler) async throws {
        try await serverChannel.executeThenClose { inbound in
            try await withThrowingDiscardingTaskGroup { group in
                for try await connection in inbound {
                    group.addTask { await self.serve(connection, handler: handler) }
                }
            }
        }
    }

    private func serve(_ connection: Connection, handler: @escaping HTTPHandler) async {
        let remote = connection.channel.remoteAddress
        do {
            try await connection.executeThenClose { inbound, outbound in
                var head: HTTPRequestHead?
                var bodyBytes = 0
                for try await part in inbound {
                    switch part {
                    case .head(let h):
                        head = h; bodyBytes = 0
                    case .body(let buffer):
                        bodyBytes += buffer.readableBytes
                        // Every endpoint is a GET: a body is read and discarded, up to a bound. Past
                        // it the client hears so at once, whatever its chunk sizes claim.
                        if bodyBytes > limits.maxRequestBody, let h = head {
                            var refusal = HTTPResponse.text(.payloadTooLarge, "request body over \(limits.maxRequestBody) bytes\n")
                            refusal.headers.replaceOrAdd(name: "Connection", value: "close")
                            var closing = h
                            closing.headers.replaceOrAdd(name: "Connection", value: "close")
                            _ = try await write(refusal, for: HTTPRequest(head: closing, remoteAddress: remote), head: closing,
                                                to: outbound, channel: connection.channel)
                            return
                        }
                    case .end:
                        guard let h = head else { continue }
                        head = nil
                        let request = HTTPRequest(head: h, remoteAddress: remote)
                        let response = await handler(request)
                        let keepAlive = try await write(response, for: request, head: h, to: outbound, channel: connection.channel)
                        if !keepAlive { return }
                    }
                }
            }
        } catch where Task.isCancelled {
            // Shutdown: the connection was closed on purpose.
        } catch {
            logger.debug("http connection closed: \(error)", metadata: ["peer": "\(remote?.displayAddress ?? "?")"])
        }
    }

    /// Writes `response`; returns whether the connection may serve another request.
    private func write(_ response: HTTPResponse, for request: HTTPRequest, head: HTTPRequestHead,
                       to outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>, channel: any Channel) async throws -> Bool {
        var headers = response.headers
        headers.replaceOrAdd(name: "Server", value: "streamr")
        var keepAlive = head.isKeepAlive
        switch response.body {
        case .bytes(let body):
            headers.replaceOrAdd(name: "Content-Length", value: "\(body.readableBytes)")
            if !keepAlive { headers.replaceOrAdd(name: "Connection", value: "close") }
            try await outbound.write(.head(HTTPResponseHead(version: head.version, status: response.status, headers: headers)))
            if head.method != .HEAD, body.readableBytes > 0 { try await outbound.write(.body(.byteBuffer(body))) }
            try await outbound.write(.end(nil))
        case .stream(let produce):
            // A live stream has no length: chunked on HTTP/1.1, close-delimited on 1.0.
            if head.version.minor == 0 { keepAlive = false; headers.replaceOrAdd(name: "Connection", value: "close") }
            try await outbound.write(.head(HTTPResponseHead(version: head.version, status: response.status, headers: headers)))
            if head.method != .HEAD {
                try await produce(HTTPBodyWriter(outbound: outbound, channel: channel))
            }
            try await outbound.write(.end(nil))
        }
        return keepAlive
    }
}

/// Limits on what a client may send, and how long it may take.
public struct HTTPLimits: Sendable {
    /// Request bodies are read and discarded (every endpoint is a GET); larger ones get 413.
    public var maxRequestBody: Int
    /// From the connection's start, or the end of the last response, to a complete request
    /// head (a slowloris client never gets there; an idle keep-alive connection is closed too).
    public var requestHeadTimeoutMs: Int64
    /// From the request head to the end of its body.
    public var requestBodyTimeoutMs: Int64
    /// Open connections one address may hold.
    public var connectionsPerAddress: Int
    /// A live viewer with this much queued is behind (see LiveMedia's ViewerLimits).
    public var viewerQueueBytes: Int

    public init(maxRequestBody: Int = 64 * 1024, requestHeadTimeoutMs: Int64 = 15_000, requestBodyTimeoutMs: Int64 = 30_000,
                connectionsPerAddress: Int = 128, viewerQueueBytes: Int = 2 << 20) {
        self.maxRequestBody = maxRequestBody; self.requestHeadTimeoutMs = requestHeadTimeoutMs
        self.requestBodyTimeoutMs = requestBodyTimeoutMs; self.connectionsPerAddress = connectionsPerAddress
        self.viewerQueueBytes = viewerQueueBytes
    }
}

/// A connection over the per-address cap: 503 in plain bytes, then closed; nothing it sends
/// is read.
final class RefusingHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private static let text = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nRetry-After: 10\r\n"
        + "Connection: close\r\nContent-Length: 50\r\n\r\ntoo many connections from your address; try later\n"

    func handlerAdded(context: ChannelHandlerContext) { if context.channel.isActive { refuse(context) } }
    func channelActive(context: ChannelHandlerContext) { refuse(context) }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    private var done = false
    private func refuse(_ context: ChannelHandlerContext) {
        guard !done else { return }
        done = true
        let channel = context.channel
        context.writeAndFlush(NIOAny(ByteBuffer(string: Self.text))).whenComplete { _ in channel.close(promise: nil) }
    }
}

@available(*, unavailable) extension RefusingHandler: Sendable {}

/// Deadlines for a client that is slow to ask: a request head must be complete within
/// `requestHeadTimeoutMs` of the connection opening (or of the last response ending), and
/// its body within `requestBodyTimeoutMs` of the head. While a response is being produced
/// (a live stream can last hours) no deadline runs. A client past a deadline is disconnected.
final class HTTPConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let limits: HTTPLimits
    private var deadline: Scheduled<Void>?
    private var responding = 0

    init(limits: HTTPLimits) { self.limits = limits }

    func handlerAdded(context: ChannelHandlerContext) { arm(context, ms: limits.requestHeadTimeoutMs, what: "request head") }
    func handlerRemoved(context: ChannelHandlerContext) { deadline?.cancel() }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: arm(context, ms: limits.requestBodyTimeoutMs, what: "request body")
        case .body: break
        case .end:
            responding += 1
            deadline?.cancel(); deadline = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            responding = max(0, responding - 1)
            if responding == 0 { arm(context, ms: limits.requestHeadTimeoutMs, what: "next request head") }
        }
        context.write(data, promise: promise)
    }

    /// Past the head deadline the connection just closes (nothing was asked); past the body
    /// deadline the client is told 408 first, unless a response is still being written.
    private func arm(_ context: ChannelHandlerContext, ms: Int64, what: String) {
        deadline?.cancel()
        let channel = context.channel
        let answer = what == "request body"
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: .milliseconds(ms)) {
            let (this, context) = bound.value
            guard answer, this.responding == 0 else { channel.close(promise: nil); return }
            let body = ByteBuffer(string: "request body not complete in time\n")
            let headers = HTTPHeaders([("Server", "streamr"), ("Content-Type", "text/plain"), ("Connection", "close"),
                                       ("Content-Length", "\(body.readableBytes)")])
            context.write(this.wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .requestTimeout, headers: headers))),
                          promise: nil)
            context.write(this.wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            context.writeAndFlush(this.wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
        }
    }
}

@available(*, unavailable) extension HTTPConnectionGuard: Sendable {}

public typealias HTTPHandler = @Sendable (HTTPRequest) async -> HTTPResponse
