import Glibc
import NIOCore
import NIOHTTP1

/// A parsed request: method, decoded path and query, headers, and where it came from.
public struct HTTPRequest: Sendable {
    public var method: HTTPMethod
    public var uri: String
    /// The path, percent-decoded; it always starts with "/". For an absolute-form target
    /// (`http://host/path?query`, which servers must accept, RFC 9112 §3.2.2) the path and
    /// query are the URL's; a target with no path ("/" when absent, `*` of `OPTIONS *`, the
    /// `host:port` of CONNECT) has path "/" and no query.
    public var path: String
    public var query: [String: String]
    public var headers: HTTPHeaders
    public var remoteAddress: SocketAddress?

    public init(method: HTTPMethod = .GET, uri: String, headers: HTTPHeaders = [:], remoteAddress: SocketAddress? = nil) {
        self.method = method; self.uri = uri; self.headers = headers; self.remoteAddress = remoteAddress
        // Split as bytes: `?`, `&` and `=` are ASCII, and a combining mark after one of them
        // (raw UTF-8 from a lax client) would hide it inside a Character.
        let target = Self.originForm(Array(uri.utf8))
        let question = target.firstIndex(of: UInt8(ascii: "?"))
        path = Self.percentDecode(target[..<(question ?? target.endIndex)])
        if path.isEmpty { path = "/" }
        var query: [String: String] = [:]
        if let question {
            for pair in target[(question + 1)...].split(separator: UInt8(ascii: "&")) {
                let kv = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
                let key = Self.percentDecode(kv[0], plusIsSpace: true)
                let value = kv.count > 1 ? Self.percentDecode(kv[1], plusIsSpace: true) : ""
                query[key] = value
            }
        }
        self.query = query
    }

    init(head: HTTPRequestHead, remoteAddress: SocketAddress?) {
        self.init(method: head.method, uri: head.uri, headers: head.headers, remoteAddress: remoteAddress)
    }

    /// The origin-form part of a request target: itself when it starts with "/", the path and
    /// query of an absolute-form URL (scheme "://" authority, then from the first "/" or "?"),
    /// and nothing for anything else.
    static func originForm(_ target: [UInt8]) -> ArraySlice<UInt8> {
        if target.first == UInt8(ascii: "/") { return target[...] }
        let isAlpha = { (c: UInt8) in (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(c | 0x20) }
        let isSchemeChar = { (c: UInt8) in
            isAlpha(c) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) || c == UInt8(ascii: "+") || c == UInt8(ascii: "-")
                || c == UInt8(ascii: ".")
        }
        guard let colon = target.firstIndex(of: UInt8(ascii: ":")), let first = target.first, isAlpha(first),
              target[..<colon].allSatisfy(isSchemeChar), target[colon...].starts(with: Array("://".utf8)) else { return [] }
        let authority = target[(colon + 3)...]
        guard let end = authority.firstIndex(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") }) else { return [] }
        return authority[end...]
    }

    /// `/a/b/c` → ["a", "b", "c"].
    public var pathComponents: [String] { path.split(separator: "/").map(String.init) }

    /// Decodes %XX escapes (and `+` as a space in a query); a malformed escape is kept as it
    /// is (the router then finds nothing). Never longer than its input: an escape is 3 bytes
    /// for 1, and a byte that is not UTF-8 becomes U+FFFD (3 bytes) only if it came escaped.
    static func percentDecode(_ text: ArraySlice<UInt8>, plusIsSpace: Bool = false) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.count)
        var rest = text
        while let byte = rest.popFirst() {
            if byte == UInt8(ascii: "%"), rest.count >= 2, let hi = hexValue(rest[rest.startIndex]),
               let lo = hexValue(rest[rest.startIndex + 1]) {
                bytes.append(hi << 4 | lo); rest = rest.dropFirst(2)
            } else {
                bytes.append(plusIsSpace && byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
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

    /// Live media: writes on the connection's event loop and returns at once — at once when
    /// called there (a live stream hands batches to each loop), else with one hop for the
    /// batch; no task per write. The caller keeps its own lag policy with `isWritable`, and
    /// must not interleave this with the awaiting `write`s.
    public func writeNow(_ buffers: [ByteBuffer]) {
        guard !buffers.isEmpty else { return }
        let channel = self.channel
        guard channel.eventLoop.inEventLoop else {
            return channel.eventLoop.execute { Self.write(buffers, to: channel) }
        }
        Self.write(buffers, to: channel)
    }

    private static func write(_ buffers: [ByteBuffer], to channel: any Channel) {
        for buffer in buffers { channel.write(HTTPServerResponsePart.body(.byteBuffer(buffer)), promise: nil) }
        channel.flush()
    }

    /// The loop the connection's writes run on.
    public var eventLoop: any EventLoop { channel.eventLoop }

    /// False while the client is behind (over the high water mark of queued bytes).
    public var isWritable: Bool { channel.isWritable }

    /// Closes the connection (e.g. a live viewer that stayed behind too long).
    public func close() { channel.close(promise: nil) }

    /// Drops a client that stopped reading: a reset, so neither the queued bytes nor a FIN
    /// wait behind its closed window (the client learns at once, and the kernel frees the socket).
    public func reset() { channel.closeWithReset() }

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

extension Channel {
    /// Closes with SO_LINGER 0: an RST instead of a FIN queued behind unsent data, for a peer
    /// that stopped reading (nginx's reset_timedout_connection).
    public func closeWithReset() {
        guard let sockets = self as? any SocketOptionProvider else { close(promise: nil); return }
        sockets.setSoLinger(linger(l_onoff: 1, l_linger: 0)).whenComplete { _ in self.close(promise: nil) }
    }
}
