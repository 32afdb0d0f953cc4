import StreamrConfig
import XCTest

final class TextFormatTests: XCTestCase {
    func testFixedDecimals() {
        XCTAssertEqual(TextFormat.fixed(12.345, places: 1), "12.3")
        XCTAssertEqual(TextFormat.fixed(12.35, places: 1), "12.4")
        XCTAssertEqual(TextFormat.fixed(0, places: 1), "0.0")
        XCTAssertEqual(TextFormat.fixed(-0.04, places: 1), "0.0")
        XCTAssertEqual(TextFormat.fixed(-2.5, places: 0), "-3")
        XCTAssertEqual(TextFormat.fixed(99.999, places: 2), "100.00")
        XCTAssertEqual(TextFormat.fixed(1.05, places: 3), "1.050")
        XCTAssertEqual(TextFormat.fixed(.nan, places: 1), "nan")
    }

    func testDirectoryAndPadding() {
        XCTAssertEqual(TextFormat.directory(of: "/var/lib/streamr/coordinator.db"), "/var/lib/streamr")
        XCTAssertEqual(TextFormat.directory(of: "/c.db"), "/")
        XCTAssertEqual(TextFormat.directory(of: "c.db"), ".")
        XCTAssertEqual(TextFormat.padded(7, width: 2), "07")
        XCTAssertEqual(TextFormat.padded(123, width: 2), "123")
    }

    func testTimestampIsRFC3339UTC() {
        XCTAssertEqual(TextFormat.timestamp(unixSeconds: 0), "1970-01-01T00:00:00Z")
        XCTAssertEqual(TextFormat.timestamp(unixSeconds: 1_796_187_600), "2026-12-02T05:00:00Z")
    }

    func testLocalMidnightIsAtOrBefore() {
        let now: Int64 = 1_796_187_600
        let midnight = TextFormat.localMidnight(unixSeconds: now)
        XCTAssertLessThanOrEqual(midnight, now)
        XCTAssertGreaterThan(midnight, now - 90_000)
    }
}
