import Foundation
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

    /// Found by fuzz/run.sh config: a number of minutes, hours or days past Int64 seconds
    /// trapped in parse, and a large number of seconds trapped in format (seconds * 1000).
    func testDurationsNeverOverflow() {
        XCTAssertNil(DurationText.parse("9999999999999999999"))  // over Int64
        XCTAssertNil(DurationText.parse("153722867280912931m"))
        XCTAssertNil(DurationText.parse("2562047788015216h"))
        XCTAssertNil(DurationText.parse("106751991167301d"))
        XCTAssertEqual(DurationText.parse("106751991167300d"), .seconds(Int64(106_751_991_167_300) * 86_400))
        XCTAssertEqual(DurationText.parse("9223372036854775807ms"), .milliseconds(Int64.max))
        XCTAssertEqual(DurationText.format(.seconds(Int64.max)), "\(Int64.max)s")
        XCTAssertEqual(DurationText.format(.seconds(2_222_222_222_222_222_222)), "2222222222222222222s")
        XCTAssertEqual(DurationText.format(.milliseconds(Int64.max)), "9223372036854775807ms")
        XCTAssertEqual(DurationText.format(.seconds(Int64(106_751_991_167_300) * 86_400)), "106751991167300d")
        XCTAssertEqual(DurationText.format(.milliseconds(-1500)), "-1500ms")
        XCTAssertEqual(DurationText.format(.milliseconds(5)), "5ms")
        XCTAssertEqual(DurationText.format(.milliseconds(60_005)), "60005ms")
        XCTAssertEqual(DurationText.format(.zero), "0s")
        XCTAssertEqual(DurationText.format(.seconds(90)), "90s")
        XCTAssertEqual(DurationText.format(.seconds(120)), "2m")
        XCTAssertEqual(DurationText.format(.seconds(7200)), "2h")
    }

    /// Found by fuzz/run.sh config: a quoted value starting with a combining mark kept its
    /// quotes (the mark merged with the quote into one Character), so a file written out again
    /// read differently; for the same reason a CRLF file was one long line.
    func testLinesEqualsAndQuotesAreScalars() throws {
        let file = try ConfigFile.parse("a = \"\u{342}x\"\r\nb = 2\r\n# c\r\nc =\u{301}3\r\n", source: "crlf.conf")
        XCTAssertEqual(file.string("a", default: ""), "\u{342}x")
        XCTAssertEqual(try file.int("b", default: 0), 2)
        XCTAssertEqual(file.line(of: "b"), 2)
        XCTAssertEqual(file.string("c", default: ""), "\u{301}3")
        XCTAssertEqual(file.entries.count, 3)
        XCTAssertThrowsError(try ConfigFile.parse("a\u{301}b\n", source: "x.conf")) {
            XCTAssertEqual("\($0)", "x.conf:1: expected `key = value`, got `a\u{301}b`")
        }
    }

    /// Inputs the libFuzzer harness (fuzz/run.sh config) once crashed on, kept as regressions:
    /// each goes through what the harness checks.
    func testFuzzCorpus() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Corpus")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        XCTAssertFalse(files.isEmpty)
        for file in files {
            let text = String(decoding: try Data(contentsOf: directory.appendingPathComponent(file)), as: UTF8.self)
            var values = [text]
            if let config = try? ConfigFile.parse(text, source: file) {
                let rendered = config.entries.map { "\($0.key) = \"\($0.value.value)\"\n" }.joined()
                XCTAssertEqual(try ConfigFile.parse(rendered, source: "again").entries.mapValues(\.value),
                               config.entries.mapValues(\.value), file)
                values += config.entries.values.map(\.value)
                for key in config.entries.keys {
                    _ = try? config.int(key, default: 0)
                    _ = try? config.bool(key, default: false)
                    _ = try? config.duration(key, default: .zero)
                }
            }
            for value in values {
                if let d = DurationText.parse(value) { XCTAssertEqual(DurationText.parse(DurationText.format(d)), d, file) }
                if let hp = HostPort.parse(value) { XCTAssertEqual(HostPort.parse(hp.description), hp, file) }
            }
        }
    }

    func testHostPort() {
        XCTAssertEqual(HostPort.parse("127.0.0.1:7443"), HostPort(host: "127.0.0.1", port: 7443))
        XCTAssertEqual(HostPort.parse(":8000"), HostPort(host: "0.0.0.0", port: 8000))
        XCTAssertEqual(HostPort.parse("[::1]:1935"), HostPort(host: "::1", port: 1935))
        XCTAssertEqual(HostPort.parse("[::1]:1935")?.description, "[::1]:1935")
        XCTAssertNil(HostPort.parse("::1:1935"), "bare IPv6 needs brackets")
        XCTAssertNil(HostPort.parse("host:http"))
        XCTAssertNil(HostPort.parse("host:70000"))
        XCTAssertEqual(HostPort.parse("[fe80::1%eth0]:80"), HostPort(host: "fe80::1%eth0", port: 80))
        XCTAssertEqual(HostPort.parse("my-host_1.example:80")?.description, "my-host_1.example:80")
    }

    /// Found by fuzz/run.sh config: the brackets took any text (`[ =1]:8935`), whose
    /// description (` =1:8935`) then read back as another host. Hosts are names and addresses.
    func testHostPortHostsAreNamesOrAddresses() {
        for text in ["[ =1]:8935", "[[::1]:1", "[a b]:1", "[\u{e9}]:1", "a=b:1", "h\u{0}:1", "[::1\n]:1"] {
            XCTAssertNil(HostPort.parse(text), text)
        }
    }
}
