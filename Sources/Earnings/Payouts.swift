/// A node's payable balance as the store derives it from the ledger, with where to pay it.
public struct PayableBalance: Sendable, Hashable {
    public var node: String
    public var displayName: String
    /// `venmo:@name` or `paypal:person@example.com`, as checked at enrolment.
    public var handle: String
    public var currency: CurrencyUnit
    public var amountMinor: Int64

    public init(node: String, displayName: String, handle: String, currency: CurrencyUnit, amountMinor: Int64) {
        self.node = node; self.displayName = displayName; self.handle = handle; self.currency = currency; self.amountMinor = amountMinor
    }
}

/// Where a payout goes, in PayPal Payouts' terms: the wallet and the recipient identifier.
public struct PayoutRecipient: Sendable, Hashable {
    public enum Wallet: String, Sendable { case paypal = "PAYPAL", venmo = "VENMO" }
    public var wallet: Wallet
    /// A PayPal email, or a Venmo username without the `@` (Venmo usernames are [A-Za-z0-9_-]).
    public var identifier: String

    public static func parse(handle: String) throws -> PayoutRecipient {
        if handle.hasPrefix("venmo:@") {
            let name = String(handle.dropFirst(7))
            guard (1...30).contains(name.utf8.count), name.utf8.allSatisfy({
                (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) || $0 == 45 || $0 == 95
            }) else {
                throw EarningsError("bad Venmo handle `\(handle)`")
            }
            return PayoutRecipient(wallet: .venmo, identifier: name)
        }
        if handle.hasPrefix("paypal:") {
            let email = String(handle.dropFirst(7))
            let parts = email.split(separator: "@", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), email.utf8.count <= 254,
                  email.utf8.allSatisfy({ (33...126).contains($0) && $0 != 34 && $0 != 44 }) else {
                throw EarningsError("bad PayPal handle `\(handle)`")
            }
            return PayoutRecipient(wallet: .paypal, identifier: email)
        }
        throw EarningsError("bad payout handle `\(handle)`: venmo:@name or paypal:email")
    }
}

public struct PayoutRow: Sendable, Hashable {
    public var node: String
    public var displayName: String
    public var handle: String
    public var recipient: PayoutRecipient
    public var amountMinor: Int64
}

/// A batch made before anything is written: its id is the idempotency key (the ledger
/// transaction `payout:<id>` can be appended once), its rows are what a person pays.
public struct PayoutBatch: Sendable, Hashable {
    public var id: String
    public var currency: CurrencyUnit
    public var createdAtMs: Int64
    /// The note to each recipient (PayPal: optional; Venmo: required), at most 400 characters.
    public var note: String
    /// By node id.
    public var rows: [PayoutRow]
    public var totalMinor: Int64 { rows.reduce(0) { $0 + $1.amountMinor } }
}

/// A payable balance left for a later batch, and why.
public struct SkippedPayee: Sendable, Hashable {
    public enum Reason: Sendable, Hashable {
        case belowMinimum(minimumMinor: Int64)
        case nothingPayable
        case otherCurrency(String)
        case badHandle(String)
        /// Past PayPal Payouts Web's 5000 rows per file: it waits for the next batch.
        case batchFull
    }
    public var node: String
    public var amountMinor: Int64
    public var reason: Reason
}

public struct PayoutPlan: Sendable, Hashable {
    public var batch: PayoutBatch
    public var skipped: [SkippedPayee]
    /// payable → payout:<batch>; nil when no one is due (no empty batch is made).
    public var transaction: LedgerTransaction?
}

public enum PayoutBatchID {
    /// `b-20251202-100000-1a2b3c4d`: when it was made (UTC) and 32 random bits, readable in a
    /// PayPal report and unique enough for a person making a batch a day.
    public static func make(atMs: Int64, random: UInt32) -> String {
        let stamp = UTCTime.format(atMs).utf8.filter { (48...57).contains($0) }.prefix(14)
        let digits = String(decoding: stamp, as: UTF8.self)
        let hex = String(random, radix: 16)
        return "b-\(digits.prefix(8))-\(digits.dropFirst(8))-" + String(repeating: "0", count: 8 - hex.count) + hex
    }

    public static func isValid(_ id: String) -> Bool {
        (1...40).contains(id.utf8.count) && id.utf8.allSatisfy { (48...57).contains($0) || (97...122).contains($0) || $0 == 45 }
    }
}

public enum PayoutPlanner {
    /// PayPal Payouts Web takes at most 5000 payments per file.
    public static let payPalMaxRows = 5000

    /// The batch for every node with at least `minimumMinor` payable in `currency` (one currency
    /// per batch: PayPal takes one per file), by node id.
    public static func plan(payables: [PayableBalance], currency: CurrencyUnit, minimumMinor: Int64, batchID: String,
                            atMs: Int64, note: String? = nil, maxRows: Int = payPalMaxRows) throws -> PayoutPlan {
        guard PayoutBatchID.isValid(batchID) else { throw EarningsError("bad batch id `\(batchID)`: 1–40 of a–z, 0–9 and -") }
        guard minimumMinor >= 1 else { throw EarningsError("the minimum payout must be at least one minor unit") }
        let note = note ?? "Streamr relay earnings, batch \(batchID)"
        guard (1...400).contains(note.count), note.unicodeScalars.allSatisfy({ $0.value >= 32 && $0.value != 127 }) else {
            throw EarningsError("the payout note must be 1–400 characters on one line")
        }
        var seen = Set<String>()
        var rows: [PayoutRow] = []
        var skipped: [SkippedPayee] = []
        for p in payables.sorted(by: { byteOrder($0.node, $1.node) }) {
            guard seen.insert(p.node).inserted else { throw EarningsError("node \(p.node) is listed twice") }
            func skip(_ reason: SkippedPayee.Reason) { skipped.append(SkippedPayee(node: p.node, amountMinor: p.amountMinor, reason: reason)) }
            if p.currency != currency { skip(.otherCurrency(p.currency.code)); continue }
            if p.amountMinor <= 0 { skip(.nothingPayable); continue }
            if p.amountMinor < minimumMinor { skip(.belowMinimum(minimumMinor: minimumMinor)); continue }
            let recipient: PayoutRecipient
            do { recipient = try PayoutRecipient.parse(handle: p.handle) } catch { skip(.badHandle(p.handle)); continue }
            if rows.count >= maxRows { skip(.batchFull); continue }
            rows.append(PayoutRow(node: p.node, displayName: p.displayName, handle: p.handle, recipient: recipient, amountMinor: p.amountMinor))
        }
        let batch = PayoutBatch(id: batchID, currency: currency, createdAtMs: atMs, note: note, rows: rows)
        guard !rows.isEmpty else { return PayoutPlan(batch: batch, skipped: skipped, transaction: nil) }
        let (total, overflow) = rows.reduce((Int64(0), false)) { acc, row in
            let (sum, o) = acc.0.addingReportingOverflow(row.amountMinor)
            return (sum, acc.1 || o)
        }
        guard !overflow else { throw EarningsError("the batch total overflows") }
        var lines = try rows.map { LedgerLine(try Account(.payable(node: $0.node)), currency.code, -$0.amountMinor) }
        lines.append(LedgerLine(try Account(.payout(batch: batchID)), currency.code, total))
        let tx = LedgerTransaction(id: "payout:\(batchID)", kind: .payout, atMs: atMs,
                                   memo: "payout batch \(batchID): \(rows.count) payment(s), \(currency.format(total)) \(currency.code)", lines: lines)
        return PayoutPlan(batch: batch, skipped: skipped, transaction: tx)
    }

    /// payout:<batch> → node:<id>:paid for the rows a person paid (all when `nodes` is nil), one
    /// transaction per row (`paid:<batch>:<node>`) so rows can be marked as they are paid.
    public static func markPaid(_ batch: PayoutBatch, nodes: Set<String>?, atMs: Int64) throws -> [LedgerTransaction] {
        try settle(batch, nodes: nodes) { row in
            LedgerTransaction(id: "paid:\(batch.id):\(row.node)", kind: .paid, atMs: atMs,
                              memo: "paid through \(row.recipient.wallet.rawValue) to \(row.recipient.identifier)",
                              lines: [LedgerLine(try Account(.payout(batch: batch.id)), batch.currency.code, -row.amountMinor),
                                      LedgerLine(try Account(.paid(node: row.node)), batch.currency.code, row.amountMinor)])
        }
    }

    /// payout:<batch> → node:<id>:payable for rows that will not be paid (a bounced handle),
    /// so the amount goes into a later batch.
    public static func cancel(_ batch: PayoutBatch, nodes: Set<String>?, atMs: Int64, reason: String) throws -> [LedgerTransaction] {
        try settle(batch, nodes: nodes) { row in
            LedgerTransaction(id: "cancel:\(batch.id):\(row.node)", kind: .payoutCancel, atMs: atMs, memo: reason,
                              lines: [LedgerLine(try Account(.payout(batch: batch.id)), batch.currency.code, -row.amountMinor),
                                      LedgerLine(try Account(.payable(node: row.node)), batch.currency.code, row.amountMinor)])
        }
    }

    private static func settle(_ batch: PayoutBatch, nodes: Set<String>?,
                               _ make: (PayoutRow) throws -> LedgerTransaction) throws -> [LedgerTransaction] {
        if let nodes, let stranger = nodes.first(where: { node in !batch.rows.contains { $0.node == node } }) {
            throw EarningsError("node \(stranger) is not in batch \(batch.id)")
        }
        return try batch.rows.filter { nodes?.contains($0.node) ?? true }.map(make)
    }
}
