@testable import Earnings
import XCTest

final class LedgerTests: XCTestCase {
    let sha = TestSHA256.hash
    let start: Int64 = 1_764_583_200_000  // 2025-12-01T10:00:00Z

    func testTheTestHashIsSHA256() {
        XCTAssertEqual(LedgerChain.hex(sha(Array("abc".utf8))), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(LedgerChain.hex(sha([])), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(LedgerChain.hex(sha(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    func testAccountsRoundTripAndRefuseAmbiguousIDs() throws {
        for kind: Account.Kind in [.pool(stream: "main"), .period(stream: "main", startMs: start), .held(node: "node-0a1b"),
                                   .payable(node: "node-0a1b"), .paid(node: "node-0a1b"), .payout(batch: "b-1"), .unspent(stream: "main")] {
            let account = try Account(kind)
            XCTAssertEqual(try Account(parsing: account.name), account)
        }
        XCTAssertEqual(try Account(.held(node: "node-1")).name, "node:node-1:held")
        XCTAssertThrowsError(try Account(.held(node: "a:b")))
        XCTAssertThrowsError(try Account(.pool(stream: "")))
        XCTAssertThrowsError(try Account(parsing: "node:x:spent"))
        XCTAssertThrowsError(try Account(parsing: "period:main:0010"))  // not canonical
        XCTAssertTrue(try Account(.pool(stream: "main")).mayBeNegative)
        XCTAssertFalse(try Account(.unspent(stream: "main")).mayBeNegative)
    }

    /// The canonical bytes are a format other tools may re-implement: pinned here byte for byte.
    func testCanonicalEncodingIsPinned() throws {
        let tx = try LedgerTransactions.earning(stream: "main", periodStartMs: 0, node: "n1", amountMinor: 1234,
                                                currency: "USD", atMs: 1, memo: "é")
        let bytes = LedgerChain.canonicalBytes(LedgerEntry(sequence: 2, transaction: tx))
        let expected = "73747265616d722d6c65646765722d7631" + "0000000000000002" + "0000000e" + Self.hex("earn:main:0:n1")
            + "00000007" + Self.hex("earning") + "0000000000000001" + "00000002c3a9" + "00" + "00000002"
            + "0000000d" + Self.hex("period:main:0") + "00000003555344" + "fffffffffffffb2e"
            + "0000000c" + Self.hex("node:n1:held") + "00000003555344" + "00000000000004d2"
        XCTAssertEqual(LedgerChain.hex(bytes), expected)
        // Computed apart from this code, by Python: hashlib.sha256(bytes.fromhex(expected)).hexdigest()
        XCTAssertEqual(LedgerChain.hex(LedgerChain.hash(previous: [], LedgerEntry(sequence: 2, transaction: tx), using: sha)),
                       "0e888a663e03904245e0dba9fe515175087cc65037fdd1069077ab7b8de104ea")
    }

    static func hex(_ text: String) -> String { LedgerChain.hex(Array(text.utf8)) }

    /// Fund, earn, release, pay out, mark paid; a second period with a fraud flag after the
    /// release; every balance derived and the chain sound.
    func lifecycle() throws -> [LedgerTransaction] {
        let fund = try LedgerTransactions.funding(stream: "main", periodStartMs: start, poolMinor: 100_000, currency: "USD", atMs: start + 3_660_000, memo: "pool")
        let earnA = try LedgerTransactions.earning(stream: "main", periodStartMs: start, node: "node-a", amountMinor: 60_000, currency: "USD", atMs: start + 3_660_000, memo: "")
        let earnB = try LedgerTransactions.earning(stream: "main", periodStartMs: start, node: "node-b", amountMinor: 40_000, currency: "USD", atMs: start + 3_660_000, memo: "")
        let releases = try LedgerTransactions.releases(due: [earnB, earnA], settled: [], nowMs: start + 91_000_000, holdMs: 86_400_000)
        let batch = try PayoutPlanner.plan(
            payables: [PayableBalance(node: "node-a", displayName: "Ann", handle: "venmo:@ann-relays", currency: .usd, amountMinor: 60_000),
                       PayableBalance(node: "node-b", displayName: "Bo", handle: "paypal:bo@example.com", currency: .usd, amountMinor: 40_000)],
            currency: .usd, minimumMinor: 1000, batchID: "b-20251202-01", atMs: start + 92_000_000)
        let paid = try PayoutPlanner.markPaid(batch.batch, nodes: nil, atMs: start + 93_000_000)
        // A later fraud flag for node-a's second-period earning, already released.
        let start2 = start + 3_600_000
        let fund2 = try LedgerTransactions.funding(stream: "main", periodStartMs: start2, poolMinor: 100_000, currency: "USD", atMs: start2 + 3_660_000, memo: "")
        let earn2 = try LedgerTransactions.earning(stream: "main", periodStartMs: start2, node: "node-a", amountMinor: 100_000, currency: "USD", atMs: start2 + 3_660_000, memo: "")
        let release2 = try LedgerTransactions.release(earn2, atMs: start2 + 90_000_000)
        let reversal = try LedgerTransactions.fraudReversal(earning: earn2, release: release2, atMs: start2 + 95_000_000, reason: "forged chunk")
        return [fund, earnA, earnB] + releases + [try XCTUnwrap(batch.transaction)] + paid + [fund2, earn2, release2] + reversal
    }

    func testALifecycleVerifiesAndBalancesAreDerived() throws {
        let txs = try lifecycle()
        var balances = Balances()
        for tx in txs { try balances.apply(tx) }  // what the store checks before each write
        let stored = LedgerChain.append(txs, after: nil, using: sha)
        XCTAssertEqual(stored.map(\.entry.sequence), Array(1...Int64(txs.count)))
        let report = LedgerVerifier.verify(stored, using: sha)
        XCTAssertTrue(report.isSound, "\(report.problems)")
        XCTAssertEqual(report.balances, balances)
        XCTAssertEqual(report.head, stored.last?.hash)
        let b = report.balances
        XCTAssertEqual(b[try Account(.pool(stream: "main")), "USD"], -200_000)
        XCTAssertEqual(b[try Account(.paid(node: "node-a")), "USD"], 60_000)
        XCTAssertEqual(b[try Account(.paid(node: "node-b")), "USD"], 40_000)
        XCTAssertEqual(b[try Account(.unspent(stream: "main")), "USD"], 100_000)
        XCTAssertEqual(b[try Account(.payout(batch: "b-20251202-01")), "USD"], 0)
        XCTAssertEqual(b[try Account(.held(node: "node-a")), "USD"], 0)
        XCTAssertEqual(b[try Account(.payable(node: "node-a")), "USD"], 0)
        XCTAssertEqual(b[try Account(.period(stream: "main", startMs: start + 3_600_000)), "USD"], 0)
        XCTAssertEqual(b.nonZero.map(\.amountMinor).reduce(0, +), 0)

        // Appending later continues the chain from the head.
        let more = LedgerChain.append([try LedgerTransactions.funding(stream: "main", periodStartMs: start + 7_200_000, poolMinor: 1, currency: "USD", atMs: 0, memo: "")],
                                      after: stored.last, using: sha)
        XCTAssertEqual(more.first?.entry.sequence, Int64(txs.count + 1))
        XCTAssertTrue(LedgerVerifier.verify(stored + more, using: sha).isSound)
    }

    func testAnEditedRowIsTheFirstMismatch() throws {
        var stored = LedgerChain.append(try lifecycle(), after: nil, using: sha)
        stored[2].entry.transaction.lines[1].amountMinor += 100  // someone gave node-b a dollar
        stored[2].entry.transaction.lines[0].amountMinor -= 100
        let report = LedgerVerifier.verify(stored, using: sha)
        XCTAssertEqual(report.firstHashMismatch, 3)
        // Its hash, and the period account paying out 100 more than it was funded with.
        XCTAssertEqual(report.problems.map(\.sequence), [3, 3])
        XCTAssertEqual(report.problems.filter { if case .hashMismatch = $0 { true } else { false } }.count, 1)
    }

    func testARewrittenChainIsCaughtByAKeptHead() throws {
        let original = LedgerChain.append(try lifecycle(), after: nil, using: sha)
        var txs = original.map(\.entry.transaction)
        txs[1].memo = "rewritten"
        let rewritten = LedgerChain.append(txs, after: nil, using: sha)  // every hash recomputed
        XCTAssertTrue(LedgerVerifier.verify(rewritten, using: sha).isSound)
        let kept = LedgerAnchor(sequence: 5, hash: original[4].hash)
        XCTAssertEqual(LedgerVerifier.verify(rewritten, using: sha, anchors: [kept]).problems, [.anchorMismatch(sequence: 5)])
        XCTAssertEqual(LedgerVerifier.verify(Array(original.prefix(3)), using: sha, anchors: [kept]).problems, [.anchorMissing(sequence: 5)])
    }

    func testADeletedRowIsAGap() throws {
        var stored = LedgerChain.append(try lifecycle(), after: nil, using: sha)
        stored.remove(at: 0)
        let report = LedgerVerifier.verify(stored, using: sha)
        XCTAssertEqual(report.problems.first, .sequenceGap(expected: 1, found: 2))
        XCTAssertEqual(report.firstHashMismatch, 2)
    }

    func testUnbalancedNegativeAndDuplicateTransactionsAreReported() throws {
        let payable = try Account(.payable(node: "n1")), pool = try Account(.pool(stream: "s"))
        let unbalanced = LedgerTransaction(id: "x1", kind: .funding, atMs: 0, memo: "", lines: [LedgerLine(pool, "USD", -5), LedgerLine(payable, "USD", 4)])
        let overdrawn = LedgerTransaction(id: "x2", kind: .payout, atMs: 0, memo: "", lines: [LedgerLine(payable, "USD", -5), LedgerLine(pool, "USD", 5)])
        let twice = LedgerTransaction(id: "x2", kind: .funding, atMs: 0, memo: "", lines: [LedgerLine(pool, "EUR", -1), LedgerLine(payable, "EUR", 1)])
        let report = LedgerVerifier.verify(LedgerChain.append([unbalanced, overdrawn, twice], after: nil, using: sha), using: sha)
        XCTAssertEqual(report.problems, [
            .transaction(sequence: 1, id: "x1", .unbalanced(currency: "USD", sumMinor: -1)),
            .transaction(sequence: 2, id: "x2", .negativeBalance(account: payable, currency: "USD", balanceMinor: -1)),
            .duplicateID(sequence: 3, id: "x2"),
        ])
        XCTAssertEqual(report.balances[payable, "USD"], -1)  // derived from the rows as they are
        var balances = Balances()
        XCTAssertThrowsError(try balances.apply(unbalanced))
        XCTAssertEqual(balances, Balances())
    }

    func testReversalsMustNegateAnEarlierTransactionOnce() throws {
        let earn = try LedgerTransactions.earning(stream: "s", periodStartMs: 0, node: "n", amountMinor: 5, currency: "USD", atMs: 0, memo: "")
        let fund = try LedgerTransactions.funding(stream: "s", periodStartMs: 0, poolMinor: 5, currency: "USD", atMs: 0, memo: "")
        let reverse = try LedgerTransactions.reversal(of: earn, atMs: 1, reason: "flag")
        var partial = reverse
        partial.id = "reverse-partial"
        partial.lines = partial.lines.map { LedgerLine($0.account, $0.currency, $0.amountMinor / 5 * 2) }
        var again = reverse
        again.id = "reverse-again"
        func reversalProblems(_ txs: [LedgerTransaction]) -> [Int64] {
            LedgerVerifier.verify(LedgerChain.append(txs, after: nil, using: sha), using: sha).problems.compactMap {
                if case .transaction(let s, _, .reversalMismatch) = $0 { s } else { nil }
            }
        }
        XCTAssertEqual(reversalProblems([fund, earn, partial]), [3])
        XCTAssertEqual(reversalProblems([fund, earn, reverse, again]), [4])
        XCTAssertEqual(reversalProblems([fund, earn, reverse]), [])
        var orphan = reverse
        orphan.reverses = "earn:elsewhere"
        XCTAssertEqual(reversalProblems([fund, orphan]), [2])
        XCTAssertThrowsError(try LedgerTransactions.reversal(of: reverse, atMs: 2, reason: ""))
    }

    /// Many random ledgers built from valid operations verify; one field changed in one row is
    /// found at that row.
    func testRandomLedgersVerifyAndAnyEditIsFound() throws {
        try forEachSeed(150) { seed, r in
            var txs: [LedgerTransaction] = []
            var balances = Balances()
            var earnings: [LedgerTransaction] = []
            for period in 0..<r.int(1...6) {
                let periodStart = period * 3_600_000, pool = r.int(0...100_000)
                let claims = (0..<r.int(0...4)).map { Claim(node: "n\($0)", uptimeSeconds: r.int(0...3600), qualityPpm: r.int(0...PPM.one)) }
                let split = try PoolSplit.split(poolMinor: pool, claims: claims)
                if pool > 0 { txs.append(try LedgerTransactions.funding(stream: "s", periodStartMs: periodStart, poolMinor: pool, currency: "USD", atMs: periodStart, memo: "")) }
                for share in split.shares where share.amountMinor > 0 {
                    let earn = try LedgerTransactions.earning(stream: "s", periodStartMs: periodStart, node: share.node,
                                                              amountMinor: share.amountMinor, currency: "USD", atMs: periodStart, memo: "")
                    txs.append(earn)
                    earnings.append(earn)
                }
                if split.unspentMinor > 0 {
                    txs.append(try LedgerTransactions.unspent(stream: "s", periodStartMs: periodStart, amountMinor: split.unspentMinor, currency: "USD", atMs: periodStart, memo: ""))
                }
            }
            let flagged = earnings.filter { _ in r.chance(20) }
            for earn in flagged { txs += try LedgerTransactions.fraudReversal(earning: earn, release: nil, atMs: 1, reason: "x") }
            txs += try LedgerTransactions.releases(due: earnings, settled: Set(flagged.map(\.id)), nowMs: 1 << 40, holdMs: 0)
            for tx in txs { try balances.apply(tx) }

            let stored = LedgerChain.append(txs, after: nil, using: sha)
            let report = LedgerVerifier.verify(stored, using: sha)
            XCTAssertTrue(report.isSound, "seed \(seed): \(report.problems)")
            XCTAssertEqual(report.balances, balances, "seed \(seed)")
            guard !stored.isEmpty else { return }

            var edited = stored
            let row = Int(r.int(0...Int64(stored.count - 1)))
            switch r.int(0...4) {
            case 0: edited[row].entry.transaction.memo += "!"
            case 1: edited[row].entry.transaction.atMs += 1
            case 2: edited[row].entry.transaction.lines[0].amountMinor += 1
            case 3: edited[row].entry.transaction.id += "x"
            default: edited[row].hash[0] ^= 1
            }
            XCTAssertEqual(LedgerVerifier.verify(edited, using: sha).firstHashMismatch, Int64(row + 1), "seed \(seed)")
        }
    }
}
