import Coordinator
import CoordinatorCore
import Logging
import NIOConcurrencyHelpers
import StreamrWire
import XCTest

/// The validator's desk at the coordinator: results stored once and answered after the commit,
/// replays refused (across restarts too), fraud flags from the stored history, scores, pins.
final class ValidatorDeskTests: TempDatabaseTestCase {
    let a = "node-00000000000a", b = "node-00000000000b"
    let now = NIOLockedValueBox<Int64>(7_200_000)
    var logger: Logger { var l = Logger(label: "test"); l.logLevel = .critical; return l }

    override func setUpWithError() throws {
        try super.setUpWithError()
        try store.createStream(name: "main", keyHash: "k", pool: Amount(minor: 0, currency: try Currency.parse("USD")),
                               periodSeconds: 3600, now: 1)
        for node in [a, b] {
            let token = Secret.generate()
            _ = try store.createInvite(stream: "main", tokenHash: token.hash, uses: 1, expiresAt: CoordinatorStore.now() + 60, now: 1)
            _ = try store.enroll(tokenHash: token.hash, stream: "main", now: 1) { stream, invite in
                NodeRecord(nodeID: node, displayName: node == self.a ? "A" : "B", payoutHandle: "venmo:@x", stream: stream,
                           certificateSHA256: "x", inviteID: invite, enrolledAt: 1)
            }
            try store.confirmEnrollment(node: node)
        }
    }

    func desk() throws -> ValidatorDesk {
        let clock = now
        return try ValidatorDesk(store: store, sessions: nil, clockMs: { clock.withLockedValue { $0 } }, logger: logger)
    }

    func report(_ id: UInt64, node: String? = nil, kind: String = "range", verdict: String = "passed", reason: String = "ok",
                at ms: Int64? = nil, bytes: UInt64 = 40_000) -> SpotCheckReport {
        SpotCheckReport(nodeID: node ?? a, stream: "main", chunkSeq: kind == "range" || kind == "chunk" ? 9 : 0, passed: verdict == "passed",
                        reason: reason, latencyMs: 12, throughputBps: 8_000_000, checkedUnixMs: UInt64(ms ?? now.withLockedValue { $0 }),
                        reportID: id, kind: kind, chainID: 0xfeed, bytes: bytes, verdict: verdict)
    }

    func outcome(_ response: AdminResponse) -> String? { response.rows.first?.last }

    func assertRefused(_ body: @autoclosure () throws -> AdminResponse, _ code: ErrorCode, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            XCTAssertEqual((error as? ErrorMessage)?.code, code, "\(error)", file: file, line: line)
        }
    }

    func testAResultIsStoredOnceAndReplaysAreRefusedAcrossRestarts() throws {
        var d = try desk()
        XCTAssertEqual(outcome(try d.report(report(10))), "stored")
        XCTAssertEqual(outcome(try d.report(report(10))), "duplicate", "a retry after a lost answer")
        assertRefused(try d.report(report(5)), .replayed)
        XCTAssertEqual(outcome(try d.report(report(11, node: b))), "stored")
        XCTAssertEqual(try store.checks().map(\.reportID), [11, 10])
        d = try desk()  // the coordinator restarted
        XCTAssertEqual(outcome(try d.report(report(11, node: b))), "duplicate")
        assertRefused(try d.report(report(9)), .replayed)
        XCTAssertEqual(d.counts.replayed, 1)
        let stored = try XCTUnwrap(try store.checks(node: a).first)
        XCTAssertEqual(stored.chainID, 0xfeed)
        XCTAssertEqual(stored.chunkSeq, 9)
        XCTAssertEqual(stored.ttfbMs, 12)
        XCTAssertEqual(stored.kind, "range")
        XCTAssertEqual(stored.receivedMs, 7_200_000)
    }

    func testMalformedReportsAreRefusedOnTheirMerits() throws {
        let d = try desk()
        assertRefused(try d.report(report(0)), .invalidArgument)
        assertRefused(try d.report(report(1, kind: "ftp")), .invalidArgument)
        assertRefused(try d.report(report(1, verdict: "great")), .invalidArgument)
        var contradiction = report(1, verdict: "altered")
        contradiction.passed = true
        assertRefused(try d.report(contradiction), .invalidArgument)
        XCTAssertThrowsError(try d.report(report(1, node: "node-0000000000ff")), "an unknown node")
        var noStream = report(1)
        noStream.stream = "other"
        XCTAssertThrowsError(try d.report(noStream))
        XCTAssertEqual(try store.checks().count, 0)
        let empty = try XCTUnwrap(try { () -> CheckRecord? in
            _ = try d.report(report(2, verdict: "failed", reason: "refused", bytes: 0))
            return try store.checks().first
        }())
        XCTAssertNil(empty.ttfbMs, "no body byte: no time to first byte")
        XCTAssertNil(empty.throughputBps)
    }

    func testOneAlteredResponseFlagsAtOnceAndHoldsTheScoreAtZero() throws {
        let d = try desk()
        for id in 1...3 { _ = try d.report(report(UInt64(id))) }
        XCTAssertEqual(d.score(node: a), 1)
        _ = try d.report(report(4, verdict: "altered", reason: "bytes_differ"))
        let flags = try store.fraudFlags()
        XCTAssertEqual(flags.map(\.reason), ["altered"])
        XCTAssertEqual(flags.first?.nodeID, a)
        XCTAssertTrue(flags.first?.evidence.contains("report 4: range chunk feed-9 bytes_differ") == true, flags.first?.evidence ?? "")
        _ = try d.report(report(5, verdict: "altered", reason: "bytes_differ"))
        XCTAssertEqual(try store.fraudFlags().count, 1, "one open flag per kind and period")
        XCTAssertEqual(d.score(node: a), 0, "held at 0 after altered bytes")
        XCTAssertEqual(d.score(node: b), 1, "a node never checked has the prior")
    }

    func testStaleIsFlaggedOnlyWhenRepeated() throws {
        let d = try desk()
        var id: UInt64 = 0
        func next(_ kind: String, _ verdict: String) throws { id += 1; _ = try d.report(report(id, kind: kind, verdict: verdict, reason: verdict == "stale" ? "behind_live_edge" : "ok")) }
        for _ in 0..<8 { try next("live_flv", "passed") }
        try next("hls", "stale")
        try next("live_flv", "stale")
        XCTAssertTrue(try store.fraudFlags().isEmpty, "two stale moments are a quality problem, not fraud")
        try next("hls", "stale")
        XCTAssertEqual(try store.fraudFlags().map(\.reason), ["stale"], "3 of 11 live checks (≥ 20%)")
    }

    func testStaleShareIsOfLiveChecksInThePeriod() throws {
        let d = try desk()
        // Last period's stale checks do not count in this one.
        for id in 1...3 { _ = try d.report(report(UInt64(id), kind: "hls", verdict: "stale", reason: "playlist_behind", at: 3_600_000)) }
        XCTAssertEqual(try store.fraudFlags().count, 1)
        let previous = try XCTUnwrap(try store.fraudFlags().first)
        XCTAssertEqual(previous.atMs, 3_600_000)
        for id in 4...5 { _ = try d.report(report(UInt64(id), kind: "hls", verdict: "stale", reason: "playlist_behind")) }
        XCTAssertEqual(try store.fraudFlags().count, 1, "this period has only two")
    }

    func testAClearedFlagNeedsNewEvidence() throws {
        let clock = now
        let d = try desk()
        let admin = AdminService(store: store, endpoints: PublicEndpoints(host: "h"), caPin: { "" }, clockMs: { clock.withLockedValue { $0 } },
                                 validator: d, logger: logger)
        _ = try d.report(report(1, verdict: "altered", reason: "digest_differs", at: 7_200_100))
        let flag = try XCTUnwrap(try store.fraudFlags().first)
        now.withLockedValue { $0 = 7_300_000 }
        let cleared = try admin.handle(AdminRequest(command: ["fraud", "clear"], arguments: [AdminArgument("id", "\(flag.id)"), AdminArgument("note", "a bad cable")]))
        XCTAssertTrue(cleared.message.contains("cleared: a bad cable"), cleared.message)
        XCTAssertEqual(d.score(node: a), 1, "the score's hold goes with the flag")
        XCTAssertThrowsError(try admin.handle(AdminRequest(command: ["fraud", "clear"], arguments: [AdminArgument("id", "\(flag.id)"), AdminArgument("note", "x")])))
        _ = try d.report(report(2, at: 7_300_100))
        XCTAssertTrue(try store.fraudFlags().isEmpty)
        XCTAssertEqual(try store.fraudFlags(includingCleared: true).first?.clearedNote, "a bad cable")
        _ = try d.report(report(3, verdict: "altered", reason: "bytes_differ", at: 7_300_200))
        XCTAssertEqual(try store.fraudFlags().count, 1, "new evidence raises a new flag")
        let listed = try admin.handle(AdminRequest(command: ["fraud", "list"], arguments: [AdminArgument("all", "true")]))
        XCTAssertEqual(listed.rows.count, 2)
        XCTAssertEqual(listed.columns, ["id", "node_id", "display_name", "stream", "at", "reason", "evidence", "cleared", "note"])
        XCTAssertEqual(listed.types, [.integer, .text, .text, .text, .timestamp, .text, .text, .timestamp, .text])
    }

    func testChecksListingAndNodeShow() throws {
        let clock = now
        let d = try desk()
        let admin = AdminService(store: store, endpoints: PublicEndpoints(host: "h"), caPin: { "" }, clockMs: { clock.withLockedValue { $0 } },
                                 validator: d, logger: logger)
        _ = try d.report(report(1))
        _ = try d.report(report(2, verdict: "failed", reason: "http_404", bytes: 0))
        _ = try d.report(report(3, node: b, kind: "live_flv"))
        let all = try admin.handle(AdminRequest(command: ["checks"]))
        XCTAssertEqual(all.rows.count, 3)
        XCTAssertEqual(all.columns.count, all.types.count)
        let failed = try admin.handle(AdminRequest(command: ["checks"], arguments: [AdminArgument("failed", "true")]))
        XCTAssertEqual(failed.rows.map { $0[6] }, ["http_404"])
        XCTAssertEqual(failed.rows.first?[8], "-", "no time to first byte: null in JSON")
        let ofB = try admin.handle(AdminRequest(command: ["checks"], arguments: [AdminArgument("node", b)]))
        XCTAssertEqual(ofB.rows.map { $0[1] }, [b])
        XCTAssertEqual(ofB.rows.first?[7], "-", "a live watch names no chunk")
        let shown = try admin.handle(AdminRequest(command: ["node", "show"], arguments: [AdminArgument("id", a)]))
        let cell = { (name: String) in shown.rows[0][shown.columns.firstIndex(of: name)!] }
        XCTAssertEqual(cell("checks_passed"), "1")
        XCTAssertEqual(cell("checks_failed"), "1")
        XCTAssertEqual(cell("failure_reasons"), "http_404=1")
        XCTAssertEqual(shown.columns.count, shown.types.count)
        XCTAssertLessThan(Double(cell("quality"))!, 1)
    }

    func testPinsAreGoodForOneWatchRequest() throws {
        let d = try desk()
        let token = try XCTUnwrap(try d.pin(AdminRequest(command: ["validator", "pin"], arguments: [
            AdminArgument("node", a), AdminArgument("stream", "main"), AdminArgument("format", "hls")])).rows.first?.first)
        XCTAssertEqual(token.count, 32)
        XCTAssertNil(d.takePin(token, stream: "main", format: "flv"), "another format")
        let again = try XCTUnwrap(try d.pin(AdminRequest(command: ["validator", "pin"], arguments: [
            AdminArgument("node", a), AdminArgument("stream", "main"), AdminArgument("format", "hls")])).rows.first?.first)
        XCTAssertEqual(d.takePin(again, stream: "main", format: "hls"), a)
        XCTAssertNil(d.takePin(again, stream: "main", format: "hls"), "spent")
        let late = try XCTUnwrap(try d.pin(AdminRequest(command: ["validator", "pin"], arguments: [
            AdminArgument("node", a), AdminArgument("stream", "main")])).rows.first?.first)
        now.withLockedValue { $0 += 60_000 }
        XCTAssertNil(d.takePin(late, stream: "main", format: "flv"), "expired")
    }

    func testSybilPolicyText() throws {
        XCTAssertEqual(try SybilPolicyText.parse("machine,address"), .perMachineAndAddress)
        XCTAssertEqual(try SybilPolicyText.parse(" address "), .perAddress)
        XCTAssertEqual(try SybilPolicyText.parse("off"), .off)
        XCTAssertThrowsError(try SybilPolicyText.parse("mac"))
    }

    func testCoverageIntervals() throws {
        let id = try store.startCoverage(atMs: 1000)
        try store.extendCoverage(id: id, toMs: 5000)
        try store.extendCoverage(id: id, toMs: 4000)
        let second = try store.startCoverage(atMs: 9000)
        try store.extendCoverage(id: second, toMs: 9500)
        XCTAssertEqual(try store.coverage(fromMs: 0, toMs: 10_000).map { "\($0.startMs)-\($0.endMs)" }, ["1000-5000", "9000-9500"])
        XCTAssertEqual(try store.coverage(fromMs: 6000, toMs: 8000).count, 0, "the gap is no one's")
    }
}

extension ValidatorDeskTests {
    func testEnrolmentOrderKeepsJoinsWithinOneSecondInOrder() throws {
        // setUp enrolled a, then b, in the same second; a third joins in it too, with an id that sorts first.
        let token = Secret.generate()
        _ = try store.createInvite(stream: "main", tokenHash: token.hash, uses: 1, expiresAt: CoordinatorStore.now() + 60, now: 1)
        _ = try store.enroll(tokenHash: token.hash, stream: "main", now: 1) { stream, invite in
            NodeRecord(nodeID: "node-000000000001", displayName: "C", payoutHandle: "venmo:@c", stream: stream,
                       certificateSHA256: "x", inviteID: invite, enrolledAt: 1)
        }
        XCTAssertEqual(try store.enrolmentOrder().map(\.node), [a, b, "node-000000000001"], "the order they joined in, not their ids'")
        XCTAssertEqual(try store.enrolmentOrder().map(\.enrolledAtMs), [1000, 1001, 1002])
    }
}
