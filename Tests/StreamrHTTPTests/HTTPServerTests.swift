import Foundation
import Logging
import NIOCore
import NIOHTTP1
import StreamrHTTP
import StreamrRPC
import XCTest

/// The HTTP server against curl (a client nobody here wrote) and raw sockets.
final class HTTPServerTests: XCTestCase {
    private func withServer(_ handler: @escaping HTTPHandler,
                            _ body: (Int) async throws -> Void) async throws {
        let server = try await HTTPServer.bind(.tcp(host: "127.0.0.1", port: 0), logger: Logger(label: "test"))
        let port = server.localAddress!.port!
        let task = Task { try await server.run(handler: handler) }
        defer { task.cancel() }
        try await body(port)
    }

    /// Runs curl; returns (exit status, stdout).
    private func curl(_ args: [String]) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = ["-sS", "--max-time", "10"] + args
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func testRoutesQueryAndHeadersReachTheHandler() async throws {
        try await withServer({ request in
            .text(.ok, "path=\(request.path) q=\(request.query["format"] ?? "-") parts=\(request.pathComponents.joined(separator: "|"))\n")
        }) { port in
            let (status, body) = try curl(["http://127.0.0.1:\(port)/watch/my%20stream?format=hls&x=1"])
            XCTAssertEqual(status, 0)
            XCTAssertEqual(body, "path=/watch/my stream q=hls parts=watch|my stream\n")
        }
    }

    func testRedirectAndStatusLine() async throws {
        try await withServer({ _ in .redirect(to: "http://example.invalid:8935/live/a.flv") }) { port in
            let (status, out) = try curl(["-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", "http://127.0.0.1:\(port)/watch/a"])
            XCTAssertEqual(status, 0)
            XCTAssertEqual(out, "302 http://example.invalid:8935/live/a.flv")
        }
    }

    func testKeepAliveServesSeveralRequestsOnOneConnection() async throws {
        try await withServer({ request in .text(.ok, request.path) }) { port in
            // curl reuses the connection for URLs on one command line, and says so with -v.
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
            process.arguments = ["-sSv", "http://127.0.0.1:\(port)/a", "http://127.0.0.1:\(port)/b"]
            let out = Pipe(), err = Pipe()
            process.standardOutput = out; process.standardError = err
            try process.run()
            let body = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            let log = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            XCTAssertEqual(body, "/a/b")
            XCTAssertTrue(log.contains("Re-using existing connection") || log.contains("Reusing existing"), log)
        }
    }

    func testStreamingBodyIsChunkedAndComplete() async throws {
        try await withServer({ _ in
            HTTPResponse(status: .ok, headers: ["Content-Type": "video/x-flv"], body: .stream { writer in
                for i in 0..<100 { try await writer.write(ByteBuffer(string: String(repeating: "\(i % 10)", count: 1000))) }
            })
        }) { port in
            let (status, body) = try curl(["-D", "/dev/stderr", "http://127.0.0.1:\(port)/live/x.flv"])
            XCTAssertEqual(status, 0)
            XCTAssertEqual(body.utf8.count, 100_000)
            XCTAssertTrue(body.hasPrefix(String(repeating: "0", count: 1000) + "1"))
        }
    }

    func testHeadHasNoBody() async throws {
        try await withServer({ _ in .text(.ok, "hello") }) { port in
            let (status, out) = try curl(["-I", "http://127.0.0.1:\(port)/healthz"])
            XCTAssertEqual(status, 0)
            XCTAssertTrue(out.contains("content-length: 5") || out.contains("Content-Length: 5"), out)
            XCTAssertFalse(out.contains("hello"))
        }
    }

    /// Garbage instead of HTTP: a 400 and that connection closes; the server goes on serving.
    func testGarbageGetsBadRequestAndServerKeepsServing() async throws {
        try await withServer({ _ in .text(.ok, "fine") }) { port in
            let answer = try rawExchange(port: port, send: Array("\u{01}\u{02} NOT HTTP AT ALL\r\n\r\n".utf8))
            XCTAssertTrue(answer.hasPrefix("HTTP/1.1 400"), answer)
            let (status, body) = try curl(["http://127.0.0.1:\(port)/"])
            XCTAssertEqual(status, 0)
            XCTAssertEqual(body, "fine")
        }
    }

    func testOversizedRequestBodyIsRefused() async throws {
        try await withServer({ _ in .text(.ok, "fine") }) { port in
            let big = String(repeating: "x", count: 100_000)
            let (status, out) = try curl(["-o", "/dev/null", "-w", "%{http_code}", "--data", big, "http://127.0.0.1:\(port)/"])
            XCTAssertEqual(status, 0)
            XCTAssertEqual(out, "413")
        }
    }

    func testPercentDecoding() {
        XCTAssertEqual(HTTPRequest(uri: "/a%2Fb%zz?k=v+w&e=").path, "/a/b%zz")
        XCTAssertEqual(HTTPRequest(uri: "/?k=v+w&e=").query, ["k": "v w", "e": ""])
        XCTAssertEqual(HTTPRequest(uri: "").path, "/")
    }

    /// Sends `bytes` on a fresh TCP connection and reads until the server closes it.
    private func rawExchange(port: Int, send bytes: [UInt8]) throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        XCTAssertEqual(rc, 0)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            out += buffer[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }
}
