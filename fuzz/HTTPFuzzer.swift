// libFuzzer harness for the HTTP front door: bytes through NIOHTTP1's server pipeline as our
// HTTPServer configures it (`configureHTTPServerPipeline(withErrorHandling: true)`, llhttp
// underneath) in an EmbeddedChannel, fed in pieces whose size the first byte picks (down to
// one byte at a time, the slowloris shape), answering each request the way HTTPServer does
// so pipelined requests flow; every parsed head goes through our HTTPRequest (URI split,
// percent-decoding, query) and every Range field through HTTPRange. The raw input is also a
// Range value on its own, checked against a second, independently written reading of the
// rules. Built by fuzz/run.sh with `-sanitize=fuzzer,address`; any trap or report is a bug.
import NIOCore
import NIOEmbedded
import NIOHTTP1
import StreamrHTTP

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTP(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    checkRange(String(decoding: bytes, as: UTF8.self))

    let channel = EmbeddedChannel()
    try! channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
    try! channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 8935)).wait()
    let step = [size, 1, 2, 3, 7, 16, 100, 1024][Int(bytes.first ?? 0) & 7]
    var server = Responder()
    var at = 0
    while at < bytes.count {
        let piece = bytes[at..<min(at + max(step, 1), bytes.count)]
        at += piece.count
        do {
            try channel.writeInbound(ByteBuffer(bytes: piece))
        } catch is HTTPParserError {
            break  // the error handler answered 400 and the decoder closed the connection
        } catch {
            preconditionFailure("unexpected error from the HTTP pipeline: \(error)")
        }
        server.drain(channel)
        if !channel.isActive { break }
    }
    server.drain(channel)
    _ = try? channel.finish()
    return 0
}

/// Plays HTTPServer.serve: a response after each request's end, Range headers included.
struct Responder {
    var head: HTTPRequestHead?
    var bodyBytes = 0

    mutating func drain(_ channel: EmbeddedChannel) {
        while true {
            let part: HTTPServerRequestPart?
            do { part = try channel.readInbound(as: HTTPServerRequestPart.self) } catch { return }
            guard let part else { break }
            switch part {
            case .head(let h):
                precondition(head == nil, "a head before the previous request ended")
                head = h; bodyBytes = 0
                check(h)
            case .body(let buffer):
                precondition(head != nil, "a body part outside a request")
                bodyBytes += buffer.readableBytes
            case .end:
                guard let h = head else { preconditionFailure("an end outside a request") }
                head = nil
                respond(to: h, channel: channel)
            }
        }
        // Outbound bytes are not needed; drop them so the channel does not grow.
        while (try? channel.readOutbound(as: ByteBuffer.self)) ?? nil != nil {}
    }

    private func respond(to h: HTTPRequestHead, channel: EmbeddedChannel) {
        let request = HTTPRequest(method: h.method, uri: h.uri, headers: h.headers)
        let body = ByteBuffer(repeating: 0x61, count: 100)
        let range = request.range(length: body.readableBytes)
        var headers = HTTPHeaders()
        range.addHeaders(to: &headers, length: body.readableBytes)
        let slice = range.bodyRange(length: body.readableBytes)
        headers.add(name: "Content-Length", value: "\(slice.count)")
        if !h.isKeepAlive { headers.add(name: "Connection", value: "close") }
        channel.write(HTTPServerResponsePart.head(HTTPResponseHead(version: h.version, status: range.status, headers: headers)),
                      promise: nil)
        if h.method != .HEAD, !slice.isEmpty {
            channel.write(HTTPServerResponsePart.body(.byteBuffer(body.getSlice(at: slice.lowerBound, length: slice.count)!)),
                          promise: nil)
        }
        channel.writeAndFlush(HTTPServerResponsePart.end(nil), promise: nil)
    }
}

/// Invariants of HTTPRequest over whatever llhttp accepted.
func check(_ head: HTTPRequestHead) {
    let request = HTTPRequest(method: head.method, uri: head.uri, headers: head.headers)
    let uri = head.uri.utf8.count
    precondition(request.path.utf8.first == UInt8(ascii: "/"), "path `\(request.path)` from URI `\(head.uri)` does not start with /")
    // Percent-decoding never grows the text (an escape is 3 bytes for 1; an invalid byte
    // becomes U+FFFD, 3 bytes, and came from an escape).
    precondition(request.path.utf8.count <= max(1, uri), "decoded path longer than the URI `\(head.uri)`")
    for (key, value) in request.query {
        precondition(key.utf8.count + value.utf8.count <= uri, "decoded query pair longer than the URI `\(head.uri)`")
    }
    for component in request.pathComponents {
        precondition(!component.isEmpty && !component.contains("/"), "bad path component `\(component)`")
    }
    for value in head.headers["Range"] { checkRange(value) }
    for length in [0, 1, 100] { _ = request.range(length: length, entityTag: "\"e\"") }
}

/// HTTPRange against its contract and against `referenceRange`, for a few lengths.
func checkRange(_ value: String) {
    for length in [0, 1, 2, 10, 100, 10_000, Int.max] {
        let range = HTTPRange.parse(value, length: length)
        let expected = referenceRange(value, length: length)
        precondition(range == expected, "Range `\(value)` over \(length): \(range), the reference reads \(expected)")
        let body = range.bodyRange(length: length)
        precondition(body.lowerBound >= 0 && body.upperBound <= length)
        let fields = range.responseHeaders(length: length)
        precondition(fields.first?.name == "Accept-Ranges")
        switch range {
        case .full:
            precondition(fields.count == 1 && body == 0..<length)
        case .partial(let r):
            precondition(r.lowerBound >= 0 && r.upperBound < length, "range \(r) outside 0..<\(length)")
            precondition(fields.count == 2 && fields[1].value == "bytes \(r.lowerBound)-\(r.upperBound)/\(length)")
            precondition(body.count == r.count)
        case .unsatisfiable:
            precondition(fields.count == 2 && fields[1].value == "bytes */\(length)" && body.isEmpty)
        }
    }
}

/// The same rules (see HTTPRange's documentation), written again at the String level with
/// arbitrary-precision comparisons on digit strings instead of saturating Ints.
func referenceRange(_ value: String, length: Int) -> HTTPRange {
    func ows(_ c: Character) -> Bool { c == " " || c == "\t" }
    func trim(_ s: Substring) -> Substring {
        var s = s
        while let f = s.first, ows(f) { s.removeFirst() }
        while let l = s.last, ows(l) { s.removeLast() }
        return s
    }
    // Digit strings as numbers: leading zeros off, then longer is larger.
    func digits(_ s: Substring) -> String? {
        guard !s.isEmpty, s.unicodeScalars.allSatisfy({ ("0"..."9").contains($0) }) else { return nil }
        let d = String(s.drop { $0 == "0" })
        return d.isEmpty ? "0" : d
    }
    func less(_ a: String, _ b: String) -> Bool { a.count != b.count ? a.count < b.count : a < b }
    let len = String(length)
    func clampedInt(_ d: String) -> Int { less(d, len) ? Int(d)! : length }  // min(d, length)

    // Work on scalars so "\r\n" and combining marks are not merged into one Character.
    let text = String(String.UnicodeScalarView(value.unicodeScalars))
    let scalars = Array(text.unicodeScalars)
    guard let eq = scalars.firstIndex(of: "=") else { return .full }
    let unit = trim(Substring(String(String.UnicodeScalarView(scalars[..<eq]))))
    guard unit.lowercased() == "bytes", unit.unicodeScalars.allSatisfy({ $0.isASCII }) else { return .full }
    let rest = String(String.UnicodeScalarView(scalars[(eq + 1)...]))
    var ranges: [ClosedRange<Int>] = []
    var any = false
    for element in rest.unicodeScalars.split(separator: ",", omittingEmptySubsequences: false) {
        let spec = trim(Substring(String(String.UnicodeScalarView(element))))
        if spec.isEmpty { continue }
        any = true
        let parts = spec.unicodeScalars.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
            .map { trim(Substring(String(String.UnicodeScalarView($0)))) }
        guard parts.count == 2 else { return .full }
        if parts[0].isEmpty {
            guard let n = digits(parts[1]) else { return .full }
            if length == 0 { return .full }
            if n == "0" { continue }
            ranges.append((length - clampedInt(n))...(length - 1))
        } else {
            guard let first = digits(parts[0]) else { return .full }
            var last: String?
            if !parts[1].isEmpty {
                guard let l = digits(parts[1]) else { return .full }
                last = l
            }
            if let last, less(last, first) { return .full }
            if length == 0 { if first == "0" { return .full } else { continue } }
            guard less(first, len) else { continue }
            let end = last.map { less($0, len) ? Int($0)! : length - 1 } ?? length - 1
            ranges.append(Int(first)!...end)
        }
    }
    guard any else { return .full }
    return ranges.isEmpty ? .unsatisfiable : ranges.count == 1 ? .partial(range: ranges[0]) : .full
}

// SwiftPM links executables with `main` renamed to `<module>_main`; hand control
// to libFuzzer's driver from there.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> CInt

@_cdecl("streamr_fuzz_http_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, fuzzHTTP)
}
