/// A hash someone kept for a sequence number (from a payout export, a backup, a friend).
public struct LedgerAnchor: Sendable, Hashable {
    public var sequence: Int64
    public var hash: [UInt8]
    public init(sequence: Int64, hash: [UInt8]) { self.sequence = sequence; self.hash = hash }
}

public enum LedgerProblem: Sendable, Hashable, CustomStringConvertible {
    /// A row is missing or out of place.
    case sequenceGap(expected: Int64, found: Int64)
    /// The row's stored hash is not H(previous stored hash || canonical(row)): the row (or the
    /// one before it) was edited, or the hash was.
    case hashMismatch(sequence: Int64, stored: [UInt8], recomputed: [UInt8])
    case duplicateID(sequence: Int64, id: String)
    case transaction(sequence: Int64, id: String, TransactionProblem)
    /// A kept hash that the stored rows do not reproduce, or whose row is gone.
    case anchorMismatch(sequence: Int64)
    case anchorMissing(sequence: Int64)

    public var sequence: Int64 {
        switch self {
        case .sequenceGap(_, let s), .hashMismatch(let s, _, _), .duplicateID(let s, _), .transaction(let s, _, _),
             .anchorMismatch(let s), .anchorMissing(let s): s
        }
    }

    public var description: String {
        switch self {
        case .sequenceGap(let e, let f): "row \(f): expected sequence \(e) (a row is missing or out of order)"
        case .hashMismatch(let s, let stored, let again):
            "row \(s): stored hash \(LedgerChain.hex(stored)) but the row hashes to \(LedgerChain.hex(again)) (edited?)"
        case .duplicateID(let s, let id): "row \(s): transaction id \(id) was used before"
        case .transaction(let s, let id, let p): "row \(s) (\(id)): \(p)"
        case .anchorMismatch(let s): "row \(s): its hash differs from the one kept for it"
        case .anchorMissing(let s): "row \(s), for which a hash was kept, is not in the ledger"
        }
    }
}

public struct LedgerReport: Sendable, Equatable {
    public var entries: Int
    /// The last stored hash (the genesis, empty, for an empty ledger).
    public var head: [UInt8]
    /// Every balance, recomputed from the lines as stored.
    public var balances: Balances
    /// In row order.
    public var problems: [LedgerProblem]

    public var isSound: Bool { problems.isEmpty }
    /// The first row whose hash does not match: the first row edited by hand.
    public var firstHashMismatch: Int64? {
        problems.lazy.compactMap { if case .hashMismatch(let s, _, _) = $0 { s } else { nil } }.first
    }
}

public enum LedgerVerifier {
    /// Recomputes the chain and every balance from `stored` (in row order). Each row is hashed on
    /// the *stored* hash of the one before, so one edited row is reported as itself, not as
    /// every row after it. Balances apply every row as stored, problems or not.
    public static func verify(_ stored: [StoredLedgerEntry], using h: ([UInt8]) -> [UInt8],
                              anchors: [LedgerAnchor] = []) -> LedgerReport {
        var problems: [LedgerProblem] = []
        var balances = Balances()
        var previous = LedgerChain.genesis
        var expected: Int64 = 1
        var byID: [String: LedgerTransaction] = [:]
        var reversed = Set<String>()
        var hashes: [Int64: [UInt8]] = [:]

        for row in stored {
            let entry = row.entry, tx = entry.transaction, s = entry.sequence
            if s != expected { problems.append(.sequenceGap(expected: expected, found: s)) }
            expected = s &+ 1
            let again = LedgerChain.hash(previous: previous, entry, using: h)
            if again != row.hash { problems.append(.hashMismatch(sequence: s, stored: row.hash, recomputed: again)) }
            previous = row.hash
            hashes[s] = row.hash

            if byID[tx.id] != nil { problems.append(.duplicateID(sequence: s, id: tx.id)) }
            for problem in balances.problems(applying: tx) { problems.append(.transaction(sequence: s, id: tx.id, problem)) }
            if let why = reversalProblem(tx, byID: byID, reversed: reversed) {
                problems.append(.transaction(sequence: s, id: tx.id, .reversalMismatch(why)))
            } else if let target = tx.reverses {
                reversed.insert(target)
            }
            if byID[tx.id] == nil { byID[tx.id] = tx }
            balances.applyUnchecked(tx)
        }
        for anchor in anchors.sorted(by: { $0.sequence < $1.sequence }) {
            guard let hash = hashes[anchor.sequence] else { problems.append(.anchorMissing(sequence: anchor.sequence)); continue }
            if hash != anchor.hash { problems.append(.anchorMismatch(sequence: anchor.sequence)) }
        }
        problems.sort { $0.sequence < $1.sequence }
        return LedgerReport(entries: stored.count, head: stored.last?.hash ?? LedgerChain.genesis,
                            balances: balances, problems: problems)
    }

    /// A reversal names an earlier transaction not reversed before and negates its lines exactly;
    /// only reversals name one.
    static func reversalProblem(_ tx: LedgerTransaction, byID: [String: LedgerTransaction], reversed: Set<String>) -> String? {
        switch (tx.kind, tx.reverses) {
        case (.reversal, nil): return "names no transaction to reverse"
        case (.reversal, let target?):
            guard let original = byID[target] else { return "reverses \(target), which is not an earlier transaction" }
            if reversed.contains(target) { return "\(target) was already reversed" }
            if original.kind == .reversal { return "reverses a reversal (append the original again instead)" }
            if original.lines.contains(where: { $0.amountMinor == .min }) { return "\(target) has a line that cannot be negated" }
            let negated = original.lines.map { LedgerLine($0.account, $0.currency, -$0.amountMinor) }
            if negated != tx.lines { return "its lines are not exactly \(target)'s negated" }
            return nil
        case (_, nil): return nil
        case (_, .some): return "a \(tx.kind.rawValue) transaction cannot reverse another"
        }
    }
}
