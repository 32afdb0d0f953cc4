import StreamrConfig
import XCTest

final class ConfigFileTests: XCTestCase {
    func testParsesKeyValuesCommentsAndQuotes() throws {
        let file = try ConfigFile.parse("""
        # Streamr coordinator
        listen_rpc = 127.0.0.1:7443
          control_socket="/run/streamr/control.sock"   
        ; old-style comment

        heartbeat_interval = 5s
        listen_rpc = 0.0.0.0:7443
        """, source: "test.conf")
        XCTAssertEqual(file.string("listen_rpc", default: ""), "0.0.0.0:7443", "the later line wins")
        XCTAssertEqual(file.line(of: "listen_rpc"), 7)
        XCTAssertEqual(file.string("control_socket", default: ""), "/run/streamr/control.sock")
        XCTAssertEqual(try file.duration("heartbeat_interval", default: .seconds(1)), .seconds(5))
        XCTAssertEqual(file.string("absent", default: "fallback"), "fallback")
    }

    func testErrorsNameTheFileAndLine() {
        XCTAssertThrowsError(try ConfigFile.parse("a = 1\njust words\n", source: "x.conf")) { error in
            XCTAssertEqual("\(error)", "x.conf:2: expected `key = value`, got `just words`")
        }
        let file = try! ConfigFile.parse("port = 99999\nflag = maybe\nwait = soon\n", source: "x.conf")
        XCTAssertThrowsError(try file.int("port", default: 1, range: 1...65535)) { error in
            XCTAssertEqual("\(error)", "x.conf:1: `port` must be an integer in 1...65535, got `99999`")
        }
        XCTAssertThrowsError(try file.bool("flag", default: false)) { XCTAssertTrue("\($0)".hasPrefix("x.conf:2:")) }
        XCTAssertThrowsError(try file.duration("wait", default: .seconds(1))) { XCTAssertTrue("\($0)".hasPrefix("x.conf:3:")) }
    }

    func testUnknownKeysAreRefusedWithAHint() throws {
        let file = try ConfigFile.parse("listne_rpc = :1\n", source: "c.conf")
        XCTAssertThrowsError(try file.validate(known: ["listen_rpc", "control_socket"])) { error in
            XCTAssertEqual("\(error)", "c.conf:1: unknown setting `listne_rpc` (did you mean `listen_rpc`?)")
        }
        XCTAssertNoThrow(try ConfigFile.parse("listen_rpc = :1\n", source: "c.conf").validate(known: ["listen_rpc"]))
    }

    func testDurations() {
        XCTAssertEqual(DurationText.parse("500ms"), .milliseconds(500))
        XCTAssertEqual(DurationText.parse("24h"), .seconds(86_400))
        XCTAssertEqual(DurationText.parse("7d"), .seconds(604_800))
        XCTAssertEqual(DurationText.parse("10m"), .seconds(600))
        XCTAssertEqual(DurationText.parse("30"), .seconds(30))
        XCTAssertNil(DurationText.parse("h"))
        XCTAssertNil(DurationText.parse("5 parsecs"))
        XCTAssertEqual(DurationText.format(.seconds(86_400)), "1d")
        XCTAssertEqual(DurationText.format(.milliseconds(1500)), "1500ms")
    }

    func testHostPort() {
        XCTAssertEqual(HostPort.parse("127.0.0.1:7443"), HostPort(host: "127.0.0.1", port: 7443))
        XCTAssertEqual(HostPort.parse(":8000"), HostPort(host: "0.0.0.0", port: 8000))
        XCTAssertEqual(HostPort.parse("[::1]:1935"), HostPort(host: "::1", port: 1935))
        XCTAssertEqual(HostPort.parse("[::1]:1935")?.description, "[::1]:1935")
        XCTAssertNil(HostPort.parse("::1:1935"), "bare IPv6 needs brackets")
        XCTAssertNil(HostPort.parse("host:http"))
        XCTAssertNil(HostPort.parse("host:70000"))
    }
}
