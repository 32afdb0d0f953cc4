@testable import Coordinator
import CoordinatorCore
import Earnings
import Logging
import NIOConcurrencyHelpers
import StreamrWire
import XCTest

/// The earnings engine over the real store: periods close by themselves and once, the basic
/// example holds, checks and flags change amounts, the ledger verifies, holds release, payouts
/// are idempotent and export for PayPal, and a hand-edited ledger row is found.
final class EarningsServiceTests: TempDatabaseTestCase {
    let clock = NIOLockedValueBox<Int64>(0)
    let hour: Int64 = 3_600_000
    /// 2026-12-02T00:00:00Z: an hour boundary.
    let t0: Int64 = 1_796_169_600_000

    func enroll(_ node: String, handle: String) throws {
        let token = Secret.generate()
        _ = try store.createInvite(stream: "main", tokenHash: token.hash, uses: 1, expiresAt: Int64.max / 2000, now: 1)
        _ = try store.enroll(tokenHash: token.hash, stream: "main", now: 1) { stream, invite in
            NodeRecord(nodeID: node, displayName: "Friend \(node.suffix(2))", payoutHandle: handle, stream: stream,
                       certificateSHA256: "x", inviteID: invite, enrolledAt: 1)
        }
        try store.confirmEnrollment(node: node)
    }

    func uptime(_ node: String, _ from: Int64, _ to: Int64) throws {
        try store.db.run("INSERT INTO uptime_intervals (node_id, stream, start_ms, end_ms, closed) VALUES (?, 'main', ?, ?, 1)", node, from, to)
    }

    let reports = NIOLockedValueBox<UInt64>(0)

    /// Through the validator's own store API, as its reports arrive.
    func check(_ node: String, at: Int64, passed: Bool, reason: String = "") throws {
        let id = reports.withLockedValue { $0 += 1; return $0 }
        _ = try store.recordCheck(CheckRecord(reportID: id, nodeID: node, stream: "main", kind: "chunk", passed: passed,
                                              verdict: passed ? "passed" : "failed", reason: reason, checkedMs: at, receivedMs: at))
    }

    func service(holdMs: Int64 = 24 * 3_600_000) -> EarningsService {
        var settings = EarningsService.Settings()
        settings.holdMs = holdMs
        settings.closeDelayMs = 60_000
        let clock = self.clock
        return EarningsService(store: store, settings: settings, clockMs: { clock.withLockedValue { $0 } }, logger: Logger(label: "test"))
    }

    override func setUpWithError() throws {
        try super.setUpWithError()
        // Created exactly at t0, so the first period is whole.
        try store.createStream(name: "main", keyHash: "k", pool: try Amount.parse("1000.00", currency: try Currency.parse("USD")),
                               periodSeconds: 3600, now: t0 / 1000)
    }

    func testOneNodeWithFullUptimeEarnsThePool() throws {
        try enroll("node-0000000000a1", handle: "venmo:@friend-a1")
        try uptime("node-0000000000a1", t0 - 60_000, t0 + hour + 60_000)
        clock.withLockedValue { $0 = t0 + hour + 30_000 }
        let money = service()
        money.tick()
        XCTAssertEqual(try store.closedPeriods().count, 0, "a period closes only after its close delay")
        clock.withLockedValue { $0 = t0 + hour + 61_000 }
        money.tick()
        money.tick()
        let results = try store.periodResults()
        XCTAssertEqual(results.count, 1, "closed once")
        XCTAssertEqual(results.first?.amountMinor, 100_000, "one node, pool 1000.00, full verified uptime earns 1000.00")
        XCTAssertEqual(try store.ledgerBalance(try Account(.held(node: "node-0000000000a1")), currency: "USD"), 100_000)
        let report = LedgerVerifier.verify(try store.ledgerEntries(), using: CoordinatorStore.hash)
        XCTAssertTrue(report.isSound, "\(report.problems)")
        XCTAssertEqual(report.entries, 2, "funding and one earning")
    }

    func testChecksAndFlagsShapeTheSplitAndItAddsUp() throws {
        for (n, h) in [("node-0000000000b1", "venmo:@b-one"), ("node-0000000000b2", "paypal:two@example.com"), ("node-0000000000b3", "venmo:@b-three")] {
            try enroll(n, handle: h)
            try uptime(n, t0, t0 + hour)
        }
        try store.extendCoverage(id: try store.startCoverage(atMs: t0), toMs: t0 + hour)
        for i in 1...12 {
            let at = t0 + Int64(i) * 300_000 - 1
            try check("node-0000000000b1", at: at, passed: true)
            try check("node-0000000000b2", at: at, passed: i != 6, reason: i == 6 ? "timeout" : "")
            try check("node-0000000000b3", at: at, passed: true)
        }
        _ = try store.raiseFlag(node: "node-0000000000b3", stream: "main", atMs: t0 + 1000, reason: "altered", evidence: "test",
                                unlessSince: 0)
        clock.withLockedValue { $0 = t0 + hour + 61_000 }
        service().tick()
        let amounts = Dictionary(uniqueKeysWithValues: try store.periodResults().map { ($0.node, $0.amountMinor) })
        XCTAssertEqual(amounts["node-0000000000b3"], 0, "flagged for fraud: nothing")
        XCTAssertGreaterThan(amounts["node-0000000000b1"]!, amounts["node-0000000000b2"]!, "a failed check cuts a piece and costs quality")
        XCTAssertEqual(amounts.values.reduce(0, +), 100_000, "the shares add up to the pool exactly")
        let explained = try XCTUnwrap(try store.periodResults(node: "node-0000000000b2").first?.explanation)
        XCTAssertTrue(explained.contains("timeout"), explained)
        XCTAssertTrue(LedgerVerifier.verify(try store.ledgerEntries(), using: CoordinatorStore.hash).isSound)
    }

    func testHeldThenPayableThenAnIdempotentPayoutAndAHandEditIsFound() throws {
        try enroll("node-0000000000c1", handle: "venmo:@c-one")
        try uptime("node-0000000000c1", t0, t0 + hour)
        clock.withLockedValue { $0 = t0 + hour + 61_000 }
        let money = service(holdMs: hour)
        money.tick()
        let clock = self.clock
        let admin = AdminService(store: store, endpoints: PublicEndpoints(host: "h"), caPin: { "sha256:00" },
                                 clockMs: { clock.withLockedValue { $0 } }, earnings: money, logger: Logger(label: "t"))
        let call = { (words: [String], args: [(String, String)]) in
            try admin.handle(AdminRequest(command: words, arguments: args.map { AdminArgument($0.0, $0.1) }))
        }
        XCTAssertTrue(try call(["payout", "plan"], []).rows.isEmpty, "held: not payable within the hold window")
        clock.withLockedValue { $0 = t0 + 2 * hour + 62_000 }
        money.tick()
        let plan = try call(["payout", "plan"], [])
        XCTAssertEqual(plan.rows.first?[4], "1000.00")
        let created = try call(["payout", "create"], [])
        let batch = try XCTUnwrap(created.rows.first?.first)
        XCTAssertTrue(try call(["payout", "create"], []).rows.isEmpty, "a second run makes nothing new")
        let csv = try call(["payout", "export"], [("batch", batch), ("format", "csv")]).message
        XCTAssertTrue(csv.contains("c-one,1000.00,USD,node-0000000000c1"), csv)
        XCTAssertTrue(csv.contains("VENMO"), csv)
        _ = try call(["payout", "mark-paid"], [("batch", batch), ("reference", "PP-123")])
        XCTAssertEqual(try store.ledgerBalance(try Account(.paid(node: "node-0000000000c1")), currency: "USD"), 100_000)
        XCTAssertEqual(try call(["payout", "list"], []).rows.first?.last, "paid")
        XCTAssertTrue(try call(["ledger", "verify"], []).message.hasPrefix("ledger ok"))

        // Triggers refuse edits...
        XCTAssertThrowsError(try store.db.run("UPDATE ledger_lines SET amount = amount + 1 WHERE sequence = 2"))
        // ...so someone editing by hand drops one first: `ledger verify` names the row.
        try store.db.execute("DROP TRIGGER ledger_lines_no_update")
        try store.db.run("UPDATE ledger_lines SET amount = 90000 WHERE sequence = 2 AND amount = 100000")
        XCTAssertThrowsError(try call(["ledger", "verify"], [])) { error in
            XCTAssertTrue("\(error)".contains("row 2"), "\(error)")
        }
    }

    func testAnOpenPeriodPreviewsWhatItWouldPay() throws {
        try enroll("node-0000000000d1", handle: "venmo:@d-one")
        try uptime("node-0000000000d1", t0, t0 + hour / 2)
        clock.withLockedValue { $0 = t0 + hour / 2 }
        let preview = try XCTUnwrap(try service().preview(stream: try store.stream(named: "main"), nowMs: t0 + hour / 2))
        XCTAssertEqual(preview.poolMinor, 50_000, "half the period so far: half the pool")
        XCTAssertEqual(preview.node("node-0000000000d1")?.amountMinor, 50_000)
    }
}
