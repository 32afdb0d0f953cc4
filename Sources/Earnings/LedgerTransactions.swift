/// The transactions the earnings engine writes, built from facts so their ids are too: making
/// the same one twice gives the same id, which the store's UNIQUE constraint refuses.
///
/// Money flows one way, each step its own transaction:
///   pool:S → period:S:P (funding) → node:N:held (earning) → node:N:payable (release, after the
///   hold window) → payout:B (payout batch) → node:N:paid (marked paid) or back to payable
///   (cancelled); a period nobody earned goes period:S:P → unspent:S.
/// A fraud flag after the close reverses the earning (and its release, if it was released) by
/// negated copies, then moves the recovered amount from the period to unspent:S.
public enum LedgerTransactions {
    public static func fundingID(stream: String, periodStartMs: Int64) -> String { "fund:\(stream):\(periodStartMs)" }
    public static func earningID(stream: String, periodStartMs: Int64, node: String) -> String { "earn:\(stream):\(periodStartMs):\(node)" }
    public static func unspentID(stream: String, periodStartMs: Int64) -> String { "unspent:\(stream):\(periodStartMs)" }

    /// The period's pool moved from the streamer's pool account into the period's account.
    public static func funding(stream: String, periodStartMs: Int64, poolMinor: Int64, currency: String,
                               atMs: Int64, memo: String) throws -> LedgerTransaction {
        let period = try Account(.period(stream: stream, startMs: periodStartMs))
        return LedgerTransaction(id: fundingID(stream: stream, periodStartMs: periodStartMs), kind: .funding, atMs: atMs,
                                 memo: memo, lines: [LedgerLine(try Account(.pool(stream: stream)), currency, -poolMinor),
                                                     LedgerLine(period, currency, poolMinor)])
    }

    /// A node's share, from the period into its held account.
    public static func earning(stream: String, periodStartMs: Int64, node: String, amountMinor: Int64, currency: String,
                               atMs: Int64, memo: String) throws -> LedgerTransaction {
        LedgerTransaction(id: earningID(stream: stream, periodStartMs: periodStartMs, node: node), kind: .earning, atMs: atMs,
                          memo: memo, lines: [LedgerLine(try Account(.period(stream: stream, startMs: periodStartMs)), currency, -amountMinor),
                                              LedgerLine(try Account(.held(node: node)), currency, amountMinor)])
    }

    /// What no one earned, from the period to the stream's unspent account.
    public static func unspent(stream: String, periodStartMs: Int64, amountMinor: Int64, currency: String,
                               atMs: Int64, memo: String, id: String? = nil) throws -> LedgerTransaction {
        LedgerTransaction(id: id ?? unspentID(stream: stream, periodStartMs: periodStartMs), kind: .unspent, atMs: atMs,
                          memo: memo, lines: [LedgerLine(try Account(.period(stream: stream, startMs: periodStartMs)), currency, -amountMinor),
                                              LedgerLine(try Account(.unspent(stream: stream)), currency, amountMinor)])
    }

    /// An earning's held line and where it came from, read back from the transaction.
    public struct EarningLines: Sendable, Equatable {
        public var node: String
        public var stream: String
        public var periodStartMs: Int64
        public var currency: String
        public var amountMinor: Int64
    }

    public static func earningLines(_ earning: LedgerTransaction) throws -> EarningLines {
        guard earning.kind == .earning, earning.lines.count == 2,
              case .period(let stream, let start) = earning.lines[0].account.kind,
              case .held(let node) = earning.lines[1].account.kind, earning.lines[1].amountMinor > 0 else {
            throw EarningsError("\(earning.id) is not an earning transaction")
        }
        return EarningLines(node: node, stream: stream, periodStartMs: start, currency: earning.lines[1].currency,
                            amountMinor: earning.lines[1].amountMinor)
    }

    /// held → payable for one earning, once its hold window has passed.
    public static func release(_ earning: LedgerTransaction, atMs: Int64) throws -> LedgerTransaction {
        let e = try earningLines(earning)
        return LedgerTransaction(id: "release:\(earning.id)", kind: .release, atMs: atMs, memo: "hold window passed",
                                 lines: [LedgerLine(try Account(.held(node: e.node)), e.currency, -e.amountMinor),
                                         LedgerLine(try Account(.payable(node: e.node)), e.currency, e.amountMinor)])
    }

    /// Releases for the earnings in `earnings` that are not yet `settled` (released or reversed:
    /// ids of earnings) and whose hold window, counted from when they were earned, is over.
    public static func releases(due earnings: [LedgerTransaction], settled: Set<String>, nowMs: Int64,
                                holdMs: Int64) throws -> [LedgerTransaction] {
        try earnings.filter { !settled.contains($0.id) && $0.atMs + holdMs <= nowMs }
            .sorted { $0.atMs != $1.atMs ? $0.atMs < $1.atMs : byteOrder($0.id, $1.id) }
            .map { try release($0, atMs: nowMs) }
    }

    /// The exact negation of `original`, as a new transaction. Never an edit.
    public static func reversal(of original: LedgerTransaction, atMs: Int64, reason: String) throws -> LedgerTransaction {
        guard original.kind != .reversal else { throw EarningsError("\(original.id) is a reversal; it is not reversed again") }
        guard !original.lines.contains(where: { $0.amountMinor == .min }) else { throw EarningsError("\(original.id) cannot be negated") }
        return LedgerTransaction(id: "reverse:\(original.id)", kind: .reversal, atMs: atMs, memo: reason, reverses: original.id,
                                 lines: original.lines.map { LedgerLine($0.account, $0.currency, -$0.amountMinor) })
    }

    /// A fraud flag for a closed period: reverse the release (if the earning was released), then
    /// the earning, then move what came back into the period on to unspent. If the node's payable
    /// balance no longer covers a released earning (it was paid out), the store's balance check
    /// refuses the first of these: that clawback is for a person to settle.
    public static func fraudReversal(earning: LedgerTransaction, release: LedgerTransaction?, atMs: Int64,
                                     reason: String) throws -> [LedgerTransaction] {
        let e = try earningLines(earning)
        var out: [LedgerTransaction] = []
        if let release {
            guard release.id == "release:\(earning.id)" else { throw EarningsError("\(release.id) is not the release of \(earning.id)") }
            out.append(try reversal(of: release, atMs: atMs, reason: reason))
        }
        out.append(try reversal(of: earning, atMs: atMs, reason: reason))
        out.append(try unspent(stream: e.stream, periodStartMs: e.periodStartMs, amountMinor: e.amountMinor, currency: e.currency,
                               atMs: atMs, memo: "reversed earning of \(e.node): \(reason)", id: "unspent:\(earning.id)"))
        return out
    }
}
