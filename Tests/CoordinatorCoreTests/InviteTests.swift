import CoordinatorCore
import Foundation
import XCTest

final class InviteTests: XCTestCase {
    private func invite(uses: Int64 = 1, expires: Int64 = 1000, revoked: Int64? = nil) -> InviteState {
        InviteState(stream: "main", usesLeft: uses, maxUses: 3, expiresAt: expires, revokedAt: revoked, createdAt: 0)
    }

    func testDecisions() {
        XCTAssertNil(invite().refusal(now: 999))
        XCTAssertEqual(invite().refusal(now: 1000), .expired)
        XCTAssertEqual(invite(uses: 0).refusal(now: 10), .usedUp)
        XCTAssertEqual(invite(revoked: 5).refusal(now: 10), .revoked)
        // Revocation is the host's explicit word, so it wins over the other reasons.
        XCTAssertEqual(invite(uses: 0, expires: 1, revoked: 5).refusal(now: 10), .revoked)
        XCTAssertEqual(invite(uses: 0, expires: 1).refusal(now: 10), .expired)
        XCTAssertEqual(invite().state(now: 1), "active")
        XCTAssertEqual(invite(uses: 0).state(now: 1), "used_up")
    }

    func testRefusalMessagesSayWhy() {
        XCTAssertTrue(InviteRefusal.expired.description.contains("expired"))
        XCTAssertTrue(InviteRefusal.revoked.description.contains("revoked"))
        XCTAssertTrue(InviteRefusal.usedUp.description.contains("used up"))
        XCTAssertTrue(InviteRefusal.unknown.description.contains("unknown"))
    }

    func testUses() throws {
        XCTAssertEqual(try InviteRules.parseUses("5"), 5)
        for bad in ["0", "-1", "x", "", "10001", "1.5"] { XCTAssertThrowsError(try InviteRules.parseUses(bad), bad) }
    }
}

final class JoinLineTests: XCTestCase {
    let pin = "sha256:" + String(repeating: "ab", count: 32)

    func testBuild() {
        let line = JoinLine(host: "host.example", port: 7443, stream: "main", token: "abc-_1", caPin: pin)
        XCTAssertEqual(line.url, "streamr://host.example:7443/main?token=abc-_1&ca=\(pin)")
        XCTAssertEqual(line.commandLine, "streamr-node join 'streamr://host.example:7443/main?token=abc-_1&ca=\(pin)'")
        XCTAssertEqual(JoinLine(host: "::1", port: 7443, stream: "m", token: "t", caPin: pin).url,
                       "streamr://[::1]:7443/m?token=t&ca=\(pin)")
    }

    func testRoundTrip() throws {
        for host in ["host.example", "10.0.0.2", "::1", "fe80::1"] {
            let line = JoinLine(host: host, port: 17443, stream: "s-1", token: Secret.generate().text, caPin: pin)
            XCTAssertEqual(try JoinLine.parse(line.url), line)
            XCTAssertEqual(try JoinLine.parse(line.commandLine), line)
            XCTAssertEqual(try JoinLine.parse("  " + line.commandLine + "\n"), line)
        }
        let parsed = try JoinLine.parse("streamr://h:1/main?ca=\(pin.uppercased().replacingOccurrences(of: "SHA256", with: "sha256"))&token=t")
        XCTAssertEqual(parsed.caPin, pin)
        XCTAssertEqual(parsed.caPinBytes, [UInt8](repeating: 0xab, count: 32))
    }

    func testRejects() {
        let bad = [
            "", "https://h:7443/main?token=t&ca=\(pin)", "streamr://h/main?token=t&ca=\(pin)",
            "streamr://h:0/main?token=t&ca=\(pin)", "streamr://h:70000/main?token=t&ca=\(pin)",
            "streamr://:7443/main?token=t&ca=\(pin)", "streamr://h:7443/main?ca=\(pin)",
            "streamr://h:7443/main?token=t", "streamr://h:7443/main?token=t&ca=sha256:abcd",
            "streamr://h:7443/main?token=t&ca=md5:\(String(repeating: "ab", count: 32))",
            "streamr://h:7443/Bad Name?token=t&ca=\(pin)", "streamr://h:7443/main?token=a+b&ca=\(pin)",
            "streamr://[::1:7443/main?token=t&ca=\(pin)",
        ]
        for text in bad { XCTAssertThrowsError(try JoinLine.parse(text), text) }
        XCTAssertThrowsError(try JoinLine.parse("streamr://h/main")) { XCTAssertTrue("\($0)".contains("bad join line")) }
    }

    /// Found by fuzz/run.sh joinline: a host in brackets could hold anything, `[` and a newline
    /// included, and then the line written out again did not parse. Hosts are now names and
    /// addresses only.
    func testHostsAreNamesOrAddresses() throws {
        for host in ["[x", "a b", "a'b", "a/b", "a?b", "h\n", "\u{e9}t\u{e9}", "[::1]"] {
            XCTAssertThrowsError(try JoinLine.parse("streamr://[\(host)]:7443/main?token=t&ca=\(pin)"), host)
        }
        XCTAssertThrowsError(try JoinLine.parse("streamr://a/b:7443/main?token=t&ca=\(pin)"))
        XCTAssertThrowsError(try JoinLine.parse("streamr://a'b:7443/main?token=t&ca=\(pin)"))
        XCTAssertEqual(try JoinLine.parse("streamr://[fe80::1%eth0]:7443/main?token=t&ca=\(pin)").host, "fe80::1%eth0")
        XCTAssertEqual(try JoinLine.parse("streamr://[my-host.example]:7443/main?token=t&ca=\(pin)").host, "my-host.example")
        XCTAssertEqual(try JoinLine.parse("streamr://Host_1.example:7443/main?token=t&ca=\(pin)").host, "Host_1.example")
    }

    /// Inputs the libFuzzer harness once failed on, spliced into the same slots it uses: a
    /// line that parses must parse again, to the same value, once written out.
    func testFuzzCorpus() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Corpus")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        XCTAssertFalse(files.isEmpty)
        for file in files {
            let text = String(decoding: try Data(contentsOf: directory.appendingPathComponent(file)), as: UTF8.self)
            let pin = "sha256:" + String(repeating: "0f", count: 32)
            for line in [text, "streamr://\(text):7443/main?token=abc&ca=\(pin)", "streamr://[\(text)]:7443/main?token=abc&ca=\(pin)",
                         "streamr://host.example:\(text)/main?token=abc&ca=\(pin)", "streamr://host.example:7443/\(text)?token=abc&ca=\(pin)",
                         "streamr://host.example:7443/main?\(text)"] {
                guard let join = try? JoinLine.parse(line) else { continue }
                XCTAssertEqual(try JoinLine.parse(join.url), join, file)
                XCTAssertEqual(try JoinLine.parse(join.commandLine), join, file)
            }
        }
    }
}
