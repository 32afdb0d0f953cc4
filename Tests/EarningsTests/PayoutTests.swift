@testable import Earnings
import XCTest

final class PayoutTests: XCTestCase {
    let at: Int64 = 1_764_669_600_000  // 2025-12-02T10:00:00Z

    func payables() -> [PayableBalance] {
        [
            PayableBalance(node: "node-c", displayName: "=HYPERLINK(\"x\")", handle: "paypal:cee@example.com", currency: .usd, amountMinor: 250_075),
            PayableBalance(node: "node-a", displayName: "Ann, the relay", handle: "venmo:@ann-relays", currency: .usd, amountMinor: 1_234),
            PayableBalance(node: "node-b", displayName: "Bo", handle: "venmo:@bo-relay", currency: .usd, amountMinor: 999),
            PayableBalance(node: "node-d", displayName: "Di", handle: "paypal:di@example.com", currency: .eur, amountMinor: 5_000),
            PayableBalance(node: "node-e", displayName: "Ed", handle: "cash:ed", currency: .usd, amountMinor: 5_000),
            PayableBalance(node: "node-f", displayName: "Fi", handle: "paypal:fi@example.com", currency: .usd, amountMinor: 0),
        ]
    }

    func plan(maxRows: Int = 5000) throws -> PayoutPlan {
        try PayoutPlanner.plan(payables: payables(), currency: .usd, minimumMinor: 1000, batchID: "b-20251202-100000-00c0ffee",
                               atMs: at, maxRows: maxRows)
    }

    func testPlanPaysWhoIsDueAndSaysWhyTheRestWait() throws {
        let p = try plan()
        XCTAssertEqual(p.batch.rows.map(\.node), ["node-a", "node-c"])
        XCTAssertEqual(p.batch.rows.map(\.recipient), [PayoutRecipient(wallet: .venmo, identifier: "ann-relays"),
                                                       PayoutRecipient(wallet: .paypal, identifier: "cee@example.com")])
        XCTAssertEqual(p.batch.totalMinor, 251_309)
        XCTAssertEqual(p.skipped.map(\.reason), [.belowMinimum(minimumMinor: 1000), .otherCurrency("EUR"), .badHandle("cash:ed"), .nothingPayable])
        let tx = try XCTUnwrap(p.transaction)
        XCTAssertEqual(tx.id, "payout:b-20251202-100000-00c0ffee")
        XCTAssertEqual(tx.lines.map(\.account.name), ["node:node-a:payable", "node:node-c:payable", "payout:b-20251202-100000-00c0ffee"])
        XCTAssertEqual(tx.lines.map(\.amountMinor), [-1_234, -250_075, 251_309])
        XCTAssertEqual(try plan(maxRows: 1).skipped.filter { $0.reason == .batchFull }.map(\.node), ["node-c"])
    }

    /// The same batch id gives the same transaction id, so a retried `payout create` is refused
    /// by the store (and flagged by the verifier) instead of paying twice.
    func testTheBatchIDMakesCreatingIdempotent() throws {
        let first = try XCTUnwrap(plan().transaction), again = try XCTUnwrap(plan().transaction)
        XCTAssertEqual(first, again)
        XCTAssertEqual(PayoutBatchID.make(atMs: at, random: 0xc0ffee), "b-20251202-100000-00c0ffee")
        XCTAssertTrue(PayoutBatchID.isValid(PayoutBatchID.make(atMs: at, random: .max)))
    }

    func testNoOneDueMakesNoTransaction() throws {
        let p = try PayoutPlanner.plan(payables: [], currency: .usd, minimumMinor: 1, batchID: "b-1", atMs: at)
        XCTAssertNil(p.transaction)
        XCTAssertTrue(p.batch.rows.isEmpty)
    }

    func testBadRequestsAreRefused() {
        XCTAssertThrowsError(try PayoutPlanner.plan(payables: [], currency: .usd, minimumMinor: 1, batchID: "B 1", atMs: at))
        XCTAssertThrowsError(try PayoutPlanner.plan(payables: [], currency: .usd, minimumMinor: 0, batchID: "b-1", atMs: at))
        XCTAssertThrowsError(try PayoutPlanner.plan(payables: payables() + payables(), currency: .usd, minimumMinor: 1, batchID: "b-1", atMs: at))
        XCTAssertThrowsError(try PayoutPlanner.plan(payables: [], currency: .usd, minimumMinor: 1, batchID: "b-1", atMs: at, note: "two\nlines"))
    }

    func testMarkingPaidAndCancellingSettleTheBatch() throws {
        let p = try plan()
        let paid = try PayoutPlanner.markPaid(p.batch, nodes: ["node-c"], atMs: at + 1)
        XCTAssertEqual(paid.map(\.id), ["paid:b-20251202-100000-00c0ffee:node-c"])
        let cancelled = try PayoutPlanner.cancel(p.batch, nodes: ["node-a"], atMs: at + 2, reason: "Venmo handle bounced")
        XCTAssertThrowsError(try PayoutPlanner.markPaid(p.batch, nodes: ["node-z"], atMs: at))

        // Against balances as the ledger would have them: the batch account ends at zero.
        var balances = Balances()
        let pool = try Account(.pool(stream: "main"))
        for row in p.batch.rows {
            try balances.apply(LedgerTransaction(id: "seed:\(row.node)", kind: .funding, atMs: 0, memo: "", lines: [
                LedgerLine(pool, "USD", -row.amountMinor), LedgerLine(try Account(.payable(node: row.node)), "USD", row.amountMinor),
            ]))
        }
        for tx in [try XCTUnwrap(p.transaction)] + paid + cancelled { try balances.apply(tx) }
        XCTAssertEqual(balances[try Account(.payout(batch: p.batch.id)), "USD"], 0)
        XCTAssertEqual(balances[try Account(.paid(node: "node-c")), "USD"], 250_075)
        XCTAssertEqual(balances[try Account(.payable(node: "node-a")), "USD"], 1_234)
    }

    func testPayPalCSVHasTheUploadColumnsAndExactAmounts() throws {
        let batch = try plan().batch
        XCTAssertEqual(PayoutExport.payPalCSV(batch),
                       "ann-relays,12.34,USD,node-a,\"Streamr relay earnings, batch b-20251202-100000-00c0ffee\",VENMO,PRIVATE\r\n"
                       + "cee@example.com,2500.75,USD,node-c,\"Streamr relay earnings, batch b-20251202-100000-00c0ffee\",PAYPAL,\r\n")
        XCTAssertTrue(PayoutExport.payPalCSV(batch, decimalSeparator: ",").hasPrefix("ann-relays,\"12,34\",USD,"))
    }

    func testChecklistCSVQuotesAndDefusesFormulas() throws {
        let lines = PayoutExport.checklistCSV(try plan().batch).components(separatedBy: "\r\n")
        XCTAssertEqual(lines[0], "batch,node_id,display_name,wallet,recipient,amount,currency,note,paid")
        XCTAssertEqual(lines[1], "b-20251202-100000-00c0ffee,node-a,\"Ann, the relay\",VENMO,ann-relays,12.34,USD,\"Streamr relay earnings, batch b-20251202-100000-00c0ffee\",")
        XCTAssertEqual(lines[2], "b-20251202-100000-00c0ffee,node-c,\"'=HYPERLINK(\"\"x\"\")\",PAYPAL,cee@example.com,2500.75,USD,\"Streamr relay earnings, batch b-20251202-100000-00c0ffee\",")
        XCTAssertEqual(lines.count, 4)  // header, two rows, and the empty string after the last CRLF
    }

    func testJSONExport() throws {
        var batch = try plan().batch
        batch.rows.removeLast()
        batch.note = "thanks \"friend\"\t!"
        XCTAssertEqual(PayoutExport.json(batch, ledgerHead: LedgerAnchor(sequence: 42, hash: [0xab, 0x01])), """
            {
              "batch": "b-20251202-100000-00c0ffee",
              "created_at": "2025-12-02T10:00:00Z",
              "currency": "USD",
              "exponent": 2,
              "total": "12.34",
              "total_minor": 1234,
              "note": "thanks \\"friend\\"\\t!",
              "ledger": {"sequence": 42, "head": "ab01"},
              "rows": [
                {"node_id": "node-a", "display_name": "Ann, the relay", "handle": "venmo:@ann-relays", "wallet": "VENMO", "recipient": "ann-relays", "amount": "12.34", "amount_minor": 1234}
              ]
            }

            """)
        XCTAssertEqual(PayoutExport.quote("a\u{1}é"), "\"a\\u0001é\"")
    }

    func testAmountsFormatExactlyWithTheCurrencyExponent() throws {
        XCTAssertEqual(CurrencyUnit.usd.format(100_000), "1000.00")
        XCTAssertEqual(CurrencyUnit.usd.format(5), "0.05")
        XCTAssertEqual(CurrencyUnit.usd.format(-5), "-0.05")
        XCTAssertEqual(CurrencyUnit.jpy.format(1234), "1234")
        XCTAssertEqual(try CurrencyUnit("KWD", exponent: 3).format(1_000_001), "1000.001")
        XCTAssertEqual(MinorUnits.format(.min, exponent: 2), "-92233720368547758.08")
        XCTAssertEqual(PPM.format(973_500), "0.973500")
        XCTAssertThrowsError(try CurrencyUnit("usd", exponent: 2))
        XCTAssertThrowsError(try CurrencyUnit("USD", exponent: 5))
    }
}
