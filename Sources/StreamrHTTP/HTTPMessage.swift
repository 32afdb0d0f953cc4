import NIOCore
import NIOHTTP1

/// A parsed request: method, decoded path and query, headers, and where it came from.
public struct HTTPRequest: Sendable {
    public var method: HTTPMethod
    public var uri: String
    /// The path, percent-decoded; "/" when absent.
    public var path: String
    public var query: [String: String]
    public var headers: HTTPHeaders
    public var remoteAddress: SocketAddress?

    public init(method: HTTPMethod = .GET, uri: String, headers: HTTPHeaders = [:], remoteAddress: SocketAddress? = nil) {
        self.method = method; self.uri = uri; self.headers = headers; self.remoteAddress = remoteAddress
        let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        path = parts.first.map { Self.percentDecode(String($0)) } ?? "/"
        if path.isEmpty { path = "/" }
        var query: [String: String] = [:]
        if parts.count > 1 {
            for pair in parts[1].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let key = Self.percentDecode(Self.plusToSpace(kv[0]))
                let value = kv.count > 1 ? Self.percentDecode(Self.plusToSpace(kv[1])) : ""
                query[key] = value
            }
        }
        self.query = query
    }

    init(head: HTTPRequestHead, remoteAddress: SocketAddress?) {
        self.init(method: head.method, uri: head.uri, headers: head.headers, remoteAddress: remoteAddress)
    }

    /// `/a/b/c` → ["a", "b", "c"].
    public var pathComponents: [String] { path.split(separator: "/").map(String.init) }

    static func plusToSpace(_ text: Substring) -> String {
        String(text.map { $0 == "+" ? " " : $0 })
    }

    /// Decodes %XX escapes; a malformed escape is kept as it is (the router then finds nothing).
    static func percentDecode(_ text: String) -> String {
        guard text.contains("%") else { return text }
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "%"), utf8.count >= 2,
               let value = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16) {
                bytes.append(value); utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

public struct HTTPResponse: Sendable {
    public enum Body: Sendable {
        case bytes(ByteBuffer)
        /// A body of unknown length (live media), produced until the closure returns.
        case stream(@Sendable (HTTPBodyWriter) async throws -> Void)
    }

    public var status: HTTPResponseStatus
    public var headers: HTTPHeaders
    public var body: Body

    public init(status: HTTPResponseStatus, headers: HTTPHeaders = [:], body: Body = .bytes(ByteBuffer())) {
        self.status = status; self.headers = headers; self.body = body
    }

    public static func text(_ status: HTTPResponseStatus, _ text: String, contentType: String = "text/plain; charset=utf-8",
                            headers: HTTPHeaders = [:]) -> HTTPResponse {
        var headers = headers
        headers.replaceOrAdd(name: "Content-Type", value: contentType)
        return HTTPResponse(status: status, headers: headers, body: .bytes(ByteBuffer(string: text)))
    }

    /// A 302 to `location`, not cached: each viewer is routed afresh.
    public static func redirect(to location: String) -> HTTPResponse {
        .text(.found, "\(location)\n", headers: ["Location": location, "Cache-Control": "no-store"])
    }
}

/// Writes a streaming body; each write waits while the client is not keeping up.
public struct HTTPBodyWriter: Sendable {
    let outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>
    let channel: any Channel
    public func write(_ buffer: ByteBuffer) async throws {
        try await outbound.write(.body(.byteBuffer(buffer)))
    }

    /// Live media: writes straight on the connection's event loop and returns at once (one hop
    /// for the batch, no task per write). The caller keeps its own lag policy with `isWritable`,
    /// and must not interleave this with the awaiting `write`s.
    public func writeNow(_ buffers: [ByteBuffer]) {
        guard !buffers.isEmpty else { return }
        let channel = self.channel
        channel.eventLoop.execute {
            for buffer in buffers { channel.write(HTTPServerResponsePart.body(.byteBuffer(buffer)), promise: nil) }
            channel.flush()
        }
    }

    /// False while the client is behind (over the high water mark of queued bytes).
    public var isWritable: Bool { channel.isWritable }

    /// Runs `body` when the client has gone (for a producer that writes with `writeNow`).
    public func onClose(_ body: @escaping @Sendable () -> Void) {
        channel.closeFuture.whenComplete { _ in body() }
    }

    /// Several buffers with one flush.
    public func write(contentsOf buffers: [ByteBuffer]) async throws {
        try await outbound.write(contentsOf: buffers.map { .body(.byteBuffer($0)) })
    }
}

extension HTTPRequest {
    /// How to answer this request's `Range` over a representation of `length` bytes (see
    /// `HTTPRange`). Range handling is defined for GET only (RFC 9110 §14.2), so any other
    /// method, or more than one Range or If-Range field, gets `.full`. `entityTag` is the
    /// response's strong ETag, if it has one, for If-Range.
    public func range(length: Int, entityTag: String? = nil) -> HTTPRange {
        guard method == .GET else { return .full }
        let range = headers["Range"], ifRange = headers["If-Range"]
        guard range.count == 1, ifRange.count <= 1 else { return .full }
        return HTTPRange.parse(range[0], length: length, ifRange: ifRange.first, entityTag: entityTag)
    }
}

extension HTTPRange {
    /// 200 OK, 206 Partial Content or 416 Range Not Satisfiable.
    public var status: HTTPResponseStatus { HTTPResponseStatus(statusCode: statusCode) }

    /// Adds `Accept-Ranges` and, on a 206 or 416, `Content-Range` to `headers`.
    public func addHeaders(to headers: inout HTTPHeaders, length: Int) {
        for field in responseHeaders(length: length) { headers.replaceOrAdd(name: field.name, value: field.value) }
    }
}
