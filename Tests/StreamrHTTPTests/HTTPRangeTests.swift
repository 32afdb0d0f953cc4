import NIOHTTP1
import StreamrHTTP
import XCTest

/// `Range` against RFC 9110 §14's own examples, then the edges: overflowing numbers, empty
/// representations, garbage, several ranges (nginx's single-range answer), If-Range.
final class HTTPRangeTests: XCTestCase {
    private func parse(_ value: String?, _ length: Int) -> HTTPRange { HTTPRange.parse(value, length: length) }

    func testRFC9110Examples() {
        // §14.1.2, a representation of 10000 bytes.
        XCTAssertEqual(parse("bytes=0-499", 10000), .partial(range: 0...499))
        XCTAssertEqual(parse("bytes=500-999", 10000), .partial(range: 500...999))
        XCTAssertEqual(parse("bytes=-500", 10000), .partial(range: 9500...9999))
        XCTAssertEqual(parse("bytes=9500-", 10000), .partial(range: 9500...9999))
        XCTAssertEqual(parse("bytes=0-0", 10000), .partial(range: 0...0))
        XCTAssertEqual(parse("bytes=-1", 10000), .partial(range: 9999...9999))
        // §14.4's Content-Range examples.
        XCTAssertEqual(parse("bytes=42-1233", 1234).responseHeaders(length: 1234).map(\.value), ["bytes", "bytes 42-1233/1234"])
        XCTAssertEqual(parse("bytes=1234-", 1234).responseHeaders(length: 1234).map(\.value), ["bytes", "bytes */1234"])
    }

    func testSeveralRangesGetTheWholeRepresentationLikeNginxWithOneRangeAllowed() {
        for value in ["bytes=0-0,-1", "bytes= 0-999, 4500-5499, -1000", "bytes=500-600,601-999", "bytes=500-700,601-999"] {
            XCTAssertEqual(parse(value, 10000), .full, value)
        }
        // Unsatisfiable members are skipped: one satisfiable range left is answered.
        XCTAssertEqual(parse("bytes=0-5, 200-300", 100), .partial(range: 0...5))
        XCTAssertEqual(parse("bytes=200-300, 90-", 100), .partial(range: 90...99))
        XCTAssertEqual(parse("bytes=200-300, 400-, -0", 100), .unsatisfiable)
        // Empty list elements are allowed (RFC 9110 §5.6.1).
        XCTAssertEqual(parse("bytes=,0-5,,", 100), .partial(range: 0...5))
    }

    func testLastPosPastTheEndAndOverflowingNumbers() {
        XCTAssertEqual(parse("bytes=0-99999999999999999999", 100), .partial(range: 0...99))
        XCTAssertEqual(parse("bytes=10-9223372036854775807", 100), .partial(range: 10...99))
        XCTAssertEqual(parse("bytes=0-9223372036854775808", 100), .partial(range: 0...99))
        XCTAssertEqual(parse("bytes=-99999999999999999999", 100), .partial(range: 0...99))
        XCTAssertEqual(parse("bytes=-100", 100), .partial(range: 0...99))
        XCTAssertEqual(parse("bytes=-101", 100), .partial(range: 0...99))
        XCTAssertEqual(parse("bytes=99999999999999999999-", 100), .unsatisfiable)
        XCTAssertEqual(parse("bytes=99999999999999999999-99999999999999999999", 100), .unsatisfiable)
        XCTAssertEqual(parse("bytes=00000000000000000000000000005-0000000000000000000000007", 100), .partial(range: 5...7))
        XCTAssertEqual(parse("bytes=0-", Int.max), .partial(range: 0...(Int.max - 1)))
        XCTAssertEqual(parse("bytes=-1", Int.max), .partial(range: (Int.max - 1)...(Int.max - 1)))
    }

    func testBoundaries() {
        XCTAssertEqual(parse("bytes=99-", 100), .partial(range: 99...99))
        XCTAssertEqual(parse("bytes=99-99", 100), .partial(range: 99...99))
        XCTAssertEqual(parse("bytes=100-", 100), .unsatisfiable)
        XCTAssertEqual(parse("bytes=100-200", 100), .unsatisfiable)
        XCTAssertEqual(parse("bytes=-0", 100), .unsatisfiable)
        // An empty representation: a range from 0 or a suffix gets the (empty) whole, as nginx does.
        XCTAssertEqual(parse("bytes=0-", 0), .full)
        XCTAssertEqual(parse("bytes=0-10", 0), .full)
        XCTAssertEqual(parse("bytes=-5", 0), .full)
        XCTAssertEqual(parse("bytes=1-", 0), .unsatisfiable)
    }

    func testWhitespaceAndCase() {
        for value in ["bytes=0-5", " bytes=0-5 ", "bytes= 0-5", "bytes=0 - 5", "bytes=\t0-5,\t", "BYTES=0-5", "Bytes = 0-5"] {
            XCTAssertEqual(parse(value, 100), .partial(range: 0...5), value)
        }
    }

    func testIgnoredHeadersGiveTheWholeRepresentation() {
        let ignored: [String?] = [
            nil, "", " ", "bytes", "bytes=", "bytes=,", "bytes= , ,", "items=0-5", "bytes0-5", "=0-5", "bytes=abc",
            "bytes=5-4", "bytes=-", "bytes=--5", "bytes=1-2-3", "bytes=+5-10", "bytes=0x10-20", "bytes=\u{0663}-5",
            "bytes=0-5,garbage", "bytes=0-5;q=1", "bytes=0-5 6", "bytes=1e3-", "bytes=0-5\r\n", "bytes=-5-",
            "bytes=\u{0}0-5", "bytesx=0-5",
        ]
        for value in ignored { XCTAssertEqual(parse(value, 100), .full, String(reflecting: value)) }
    }

    func testIfRange() {
        let tag = "\"v1\""
        XCTAssertEqual(HTTPRange.parse("bytes=0-5", length: 100, ifRange: tag, entityTag: tag), .partial(range: 0...5))
        XCTAssertEqual(HTTPRange.parse("bytes=0-5", length: 100, ifRange: "\"v0\"", entityTag: tag), .full)
        XCTAssertEqual(HTTPRange.parse("bytes=0-5", length: 100, ifRange: "W/\"v1\"", entityTag: tag), .full)
        XCTAssertEqual(HTTPRange.parse("bytes=0-5", length: 100, ifRange: "Wed, 21 Oct 2015 07:28:00 GMT", entityTag: tag), .full)
        XCTAssertEqual(HTTPRange.parse("bytes=0-5", length: 100, ifRange: tag, entityTag: nil), .full)
        XCTAssertEqual(HTTPRange.parse("bytes=0-5", length: 100, ifRange: "W/\"v1\"", entityTag: "W/\"v1\""), .full)
    }

    func testStatusBodyRangeAndHeaders() {
        XCTAssertEqual(HTTPRange.full.statusCode, 200)
        XCTAssertEqual(HTTPRange.partial(range: 2...4).statusCode, 206)
        XCTAssertEqual(HTTPRange.unsatisfiable.statusCode, 416)
        XCTAssertEqual(HTTPRange.full.status, .ok)
        XCTAssertEqual(HTTPRange.partial(range: 2...4).status, .partialContent)
        XCTAssertEqual(HTTPRange.unsatisfiable.status, .rangeNotSatisfiable)
        XCTAssertEqual(HTTPRange.full.bodyRange(length: 10), 0..<10)
        XCTAssertEqual(HTTPRange.partial(range: 2...4).bodyRange(length: 10), 2..<5)
        XCTAssertEqual(HTTPRange.partial(range: 2...40).bodyRange(length: 10), 2..<10)
        XCTAssertEqual(HTTPRange.unsatisfiable.bodyRange(length: 10), 0..<0)
        XCTAssertEqual(HTTPRange.full.responseHeaders(length: 10).map { "\($0.name): \($0.value)" }, ["Accept-Ranges: bytes"])
        XCTAssertEqual(HTTPRange.partial(range: 2...4).responseHeaders(length: 10).map { "\($0.name): \($0.value)" },
                       ["Accept-Ranges: bytes", "Content-Range: bytes 2-4/10"])
        var headers: HTTPHeaders = ["Content-Type": "video/mp2t", "Content-Range": "stale"]
        HTTPRange.unsatisfiable.addHeaders(to: &headers, length: 10)
        XCTAssertEqual(headers["Content-Range"], ["bytes */10"])
        XCTAssertEqual(headers["Accept-Ranges"], ["bytes"])
        XCTAssertEqual(headers["Content-Type"], ["video/mp2t"])
    }

    func testRequestRange() {
        let get = HTTPRequest(method: .GET, uri: "/a.ts", headers: ["Range": "bytes=0-5"])
        XCTAssertEqual(get.range(length: 100), .partial(range: 0...5))
        XCTAssertEqual(HTTPRequest(method: .HEAD, uri: "/a.ts", headers: ["Range": "bytes=0-5"]).range(length: 100), .full)
        XCTAssertEqual(HTTPRequest(method: .GET, uri: "/a.ts", headers: [:]).range(length: 100), .full)
        XCTAssertEqual(HTTPRequest(method: .GET, uri: "/a.ts", headers: HTTPHeaders([("Range", "bytes=0-5"), ("Range", "bytes=6-7")])).range(length: 100),
                       .full)
        XCTAssertEqual(HTTPRequest(method: .GET, uri: "/a.ts", headers: ["range": "bytes=1-1"]).range(length: 100), .partial(range: 1...1))
        XCTAssertEqual(HTTPRequest(method: .GET, uri: "/a.ts", headers: ["Range": "bytes=0-5", "If-Range": "\"x\""])
            .range(length: 100, entityTag: "\"x\""), .partial(range: 0...5))
        XCTAssertEqual(HTTPRequest(method: .GET, uri: "/a.ts", headers: ["Range": "bytes=0-5", "If-Range": "\"x\""])
            .range(length: 100), .full)
    }
}
