import CoordinatorCore
import XCTest

final class InputTests: XCTestCase {
    func testStreamNames() throws {
        for good in ["main", "a", "gaming-2", "x_y", String(repeating: "a", count: 32)] {
            XCTAssertEqual(try StreamName.validate(good), good)
        }
        for bad in ["", "Main", "-lead", "_lead", "a b", "a/b", "é", String(repeating: "a", count: 33), "a?b"] {
            XCTAssertThrowsError(try StreamName.validate(bad), bad)
        }
        XCTAssertThrowsError(try StreamName.validate("A")) { error in
            XCTAssertTrue("\(error)".contains("lower-case letters"), "\(error)")
        }
    }

    func testAmounts() throws {
        let usd = try Currency.parse("usd")
        XCTAssertEqual(usd.code, "USD")
        XCTAssertEqual(try Amount.parse("1000.00", currency: usd).minor, 100_000)
        XCTAssertEqual(try Amount.parse("1000", currency: usd).minor, 100_000)
        XCTAssertEqual(try Amount.parse("0.5", currency: usd).minor, 50)
        XCTAssertEqual(try Amount.parse("0", currency: usd).minor, 0)
        XCTAssertEqual(try Amount.parse("12.34", currency: usd).description, "12.34 USD")
        XCTAssertEqual(Amount(minor: 5, currency: usd).formatted, "0.05")
        let jpy = try Currency.parse("JPY")
        XCTAssertEqual(try Amount.parse("500", currency: jpy).formatted, "500")
        XCTAssertThrowsError(try Amount.parse("500.1", currency: jpy))

        XCTAssertThrowsError(try Amount.parse("1,000", currency: usd)) { error in
            XCTAssertEqual("\(error)", "bad amount `1,000`: use digits with at most 2 decimals, e.g. 1000.00")
        }
        XCTAssertThrowsError(try Amount.parse("-5", currency: usd)) { XCTAssertTrue("\($0)".contains("negative")) }
        for bad in ["", ".5", "5.", "1.234", "abc", "1e3", "+5", " 5", "1.2.3", "99999999999999999999"] {
            XCTAssertThrowsError(try Amount.parse(bad, currency: usd), bad)
        }
        XCTAssertThrowsError(try Amount.parse("92233720368547758.08", currency: usd)) { XCTAssertTrue("\($0)".contains("too large")) }
        XCTAssertThrowsError(try Currency.parse("XYZ")) { XCTAssertTrue("\($0)".contains("unknown currency `XYZ`")) }
    }

    func testPeriods() throws {
        XCTAssertEqual(try Period.parse("1h"), 3600)
        XCTAssertEqual(try Period.parse("30m"), 1800)
        XCTAssertEqual(try Period.parse("1d"), 86_400)
        XCTAssertEqual(try Period.parse("45s"), 45)
        for bad in ["", "h", "1", "1w", "-1h", "1.5h", "0h", "1H", " 1h", "99999999999999d"] {
            XCTAssertThrowsError(try Period.parse(bad), bad)
        }
        XCTAssertEqual(Period.format(3600), "1h")
        XCTAssertEqual(Period.format(5400), "90m")
        XCTAssertEqual(Period.format(86_400 * 2), "2d")
        XCTAssertEqual(Period.format(61), "61s")
    }

    func testPayoutHandles() throws {
        for good in ["venmo:@alice-b", "paypal:alice@example.com"] {
            XCTAssertEqual(try PayoutHandle.validate(good), good)
        }
        for bad in ["", "alice", "venmo:alice", "venmo:@a", "venmo:@bad name", "paypal:alice", "paypal:@x.com",
                    "paypal:a@b", "paypal:a@.com", "cashapp:$x"] {
            XCTAssertThrowsError(try PayoutHandle.validate(bad), bad) { XCTAssertTrue("\($0)".contains("venmo:@")) }
        }
    }

    func testDisplayNames() throws {
        XCTAssertEqual(try DisplayName.validate("  Ana's box "), "Ana's box")
        XCTAssertThrowsError(try DisplayName.validate(""))
        XCTAssertThrowsError(try DisplayName.validate("two\nlines"))
        XCTAssertThrowsError(try DisplayName.validate(String(repeating: "x", count: 65)))
    }
}
