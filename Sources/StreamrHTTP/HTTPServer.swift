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
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.so_keepalive), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            // A live viewer with 4 MiB queued is behind: it skips to the next keyframe.
            .childChannelOption(.writeBufferWaterMark, value: .init(low: 1 << 20, high: 4 << 20))
        let initializer: @Sendable (any Channel) -> EventLoopFuture<Connection> = { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                return try Connection(wrappingChannelSynchronously: channel)
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
                    case .end:
                        guard let h = head else { continue }
                        head = nil
                        let request = HTTPRequest(head: h, remoteAddress: remote)
                        let response = bodyBytes > limits.maxRequestBody
                            ? HTTPResponse.text(.payloadTooLarge, "request body over \(limits.maxRequestBody) bytes\n")
                            : await handler(request)
                        let keepAlive = try await write(response, for: request, head: h, to: outbound, channel: connection.channel)
                        if !keepAlive { return }
                    }
                }
            }
        } catch where Task.isCancelled {
            // Shutdown: the connection was closed on purpose.
        } catch {
            logger.debug("http connection closed: \(error)", metadata: ["peer": "\(remote.map { "\($0)" } ?? "?")"])
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

/// Limits on what a client may send.
public struct HTTPLimits: Sendable {
    /// Request bodies are read and discarded (every endpoint is a GET); larger ones get 413.
    public var maxRequestBody: Int
    public init(maxRequestBody: Int = 64 * 1024) { self.maxRequestBody = maxRequestBody }
}

public typealias HTTPHandler = @Sendable (HTTPRequest) async -> HTTPResponse
