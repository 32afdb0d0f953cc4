import Foundation
import NIOCore
import NIOEmbedded
import NIOHTTP1
import StreamrHTTP
import XCTest

/// Request targets as HTTPRequest reads them: every form RFC 9112 §3.2 allows, escapes, and
/// the inputs the HTTP fuzzer (fuzz/run.sh http) found.
final class HTTPRequestTests: XCTestCase {
    func testOriginForm() {
        let r = HTTPRequest(uri: "/watch/my%20stream?format=hls&x=1+2&flag&=v&a=%2B")
        XCTAssertEqual(r.path, "/watch/my stream")
        XCTAssertEqual(r.pathComponents, ["watch", "my stream"])
        XCTAssertEqual(r.query, ["format": "hls", "x": "1 2", "flag": "", "": "v", "a": "+"])
        XCTAssertEqual(HTTPRequest(uri: "").path, "/")
        XCTAssertEqual(HTTPRequest(uri: "/").path, "/")
        XCTAssertEqual(HTTPRequest(uri: "/?").query, [:])
    }

    /// Found by the fuzzer: `OPTIONS *` had path "*", and an absolute-form target (which a
    /// server must accept) had the whole URL as its path, so nothing routed it.
    func testAbsoluteAsteriskAndAuthorityForms() {
        let absolute = HTTPRequest(uri: "http://node.example:8935/live/a.flv?x=1")
        XCTAssertEqual(absolute.path, "/live/a.flv")
        XCTAssertEqual(absolute.query, ["x": "1"])
        XCTAssertEqual(HTTPRequest(uri: "HTTPS://h").path, "/")
        XCTAssertEqual(HTTPRequest(uri: "http://h?a=b").path, "/")
        XCTAssertEqual(HTTPRequest(uri: "http://h?a=b").query, ["a": "b"])
        XCTAssertEqual(HTTPRequest(method: .OPTIONS, uri: "*").path, "/")
        XCTAssertEqual(HTTPRequest(method: .CONNECT, uri: "node.example:443").path, "/")
        XCTAssertEqual(HTTPRequest(uri: "1http://h/x").path, "/")
        XCTAssertEqual(HTTPRequest(uri: "live/a.flv").path, "/")
    }

    func testEscapes() {
        // Malformed escapes stay as they are; a sign is not a hex digit (UInt8("+f", radix: 16) is 15).
        XCTAssertEqual(HTTPRequest(uri: "/a%zz%4").path, "/a%zz%4")
        XCTAssertEqual(HTTPRequest(uri: "/a%+f%-0").path, "/a%+f%-0")
        XCTAssertEqual(HTTPRequest(uri: "/%e2%82%ac").path, "/\u{20ac}")
        XCTAssertEqual(HTTPRequest(uri: "/%ff").path, "/\u{fffd}")
        XCTAssertEqual(HTTPRequest(uri: "/a+b").path, "/a+b")
        // Separators are bytes: a combining mark after `?` or `=` does not hide it.
        let r = HTTPRequest(uri: "/p?\u{301}a=\u{301}b")
        XCTAssertEqual(r.path, "/p")
        XCTAssertEqual(r.query, ["\u{301}a": "\u{301}b"])
    }

    /// Every kept input, through the server pipeline HTTPServer configures: each request
    /// parsed has a path starting with "/" no longer than its target.
    func testFuzzCorpus() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Corpus")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        XCTAssertFalse(files.isEmpty)
        for file in files {
            let channel = EmbeddedChannel()
            try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
            do {
                try channel.writeInbound(ByteBuffer(bytes: try Data(contentsOf: directory.appendingPathComponent(file))))
            } catch is HTTPParserError {}
            while let part = try channel.readInbound(as: HTTPServerRequestPart.self) {
                guard case .head(let head) = part else { continue }
                let request = HTTPRequest(method: head.method, uri: head.uri, headers: head.headers)
                XCTAssertEqual(request.path.utf8.first, UInt8(ascii: "/"), file)
                XCTAssertLessThanOrEqual(request.path.utf8.count, max(1, head.uri.utf8.count), file)
            }
            _ = try? channel.finish()
        }
    }
}
