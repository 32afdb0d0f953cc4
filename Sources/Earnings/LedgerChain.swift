/// A transaction at its place in the ledger (sequence 1, 2, 3, ... with no gaps).
public struct LedgerEntry: Sendable, Hashable {
    public var sequence: Int64
    public var transaction: LedgerTransaction
    public init(sequence: Int64, transaction: LedgerTransaction) { self.sequence = sequence; self.transaction = transaction }
}

/// An entry as stored, with the chain hash written beside it.
public struct StoredLedgerEntry: Sendable, Hashable {
    public var entry: LedgerEntry
    public var hash: [UInt8]
    public init(entry: LedgerEntry, hash: [UInt8]) { self.entry = entry; self.hash = hash }
}

/// The hash chain over the ledger: hash_n = H(hash_(n−1) || canonical(entry_n)), hash_0 = the
/// empty byte string. H is passed in (SHA-256 in production) so this module stays pure. Any edit
/// of a stored row changes its recomputed hash; a head hash someone kept (say, printed on a
/// payout export) pins every row before it.
public enum LedgerChain {
    public static let genesis: [UInt8] = []
    /// Starts every canonical encoding: names the format, so a later one cannot be confused with it.
    public static let magic = Array("streamr-ledger-v1".utf8)

    /// The one byte string an entry hashes as. Integers are 8-byte big-endian two's complement;
    /// a string is its UTF-8 byte length (4-byte big-endian) then those bytes, exactly as stored:
    ///   magic, sequence, id, kind, atMs, memo, reverses flag (1 byte, 0 or 1) [+ reverses],
    ///   line count (4 bytes), then per line: account name, currency, amount.
    public static func canonicalBytes(_ entry: LedgerEntry) -> [UInt8] {
        let tx = entry.transaction
        var out = magic
        out.reserveCapacity(128 + tx.lines.count * 48)
        append(entry.sequence, to: &out)
        append(tx.id, to: &out)
        append(tx.kind.rawValue, to: &out)
        append(tx.atMs, to: &out)
        append(tx.memo, to: &out)
        if let reverses = tx.reverses {
            out.append(1)
            append(reverses, to: &out)
        } else {
            out.append(0)
        }
        append(UInt32(tx.lines.count), to: &out)
        for line in tx.lines {
            append(line.account.name, to: &out)
            append(line.currency, to: &out)
            append(line.amountMinor, to: &out)
        }
        return out
    }

    public static func hash(previous: [UInt8], _ entry: LedgerEntry, using h: ([UInt8]) -> [UInt8]) -> [UInt8] {
        h(previous + canonicalBytes(entry))
    }

    /// Numbers and chains `transactions` after `head` (nil: an empty ledger). The store writes
    /// the result in one database transaction, after checking each against the balances.
    public static func append(_ transactions: [LedgerTransaction], after head: StoredLedgerEntry?,
                              using h: ([UInt8]) -> [UInt8]) -> [StoredLedgerEntry] {
        var sequence = head?.entry.sequence ?? 0
        var previous = head?.hash ?? genesis
        return transactions.map { tx in
            sequence += 1
            let entry = LedgerEntry(sequence: sequence, transaction: tx)
            previous = hash(previous: previous, entry, using: h)
            return StoredLedgerEntry(entry: entry, hash: previous)
        }
    }

    /// Lower-case hex, the form a hash is shown and exported in.
    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes { out.append(digits[Int(byte >> 4)]); out.append(digits[Int(byte & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }

    private static func append(_ value: Int64, to out: inout [UInt8]) {
        let bits = UInt64(bitPattern: value)
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
    }

    private static func append(_ value: UInt32, to out: inout [UInt8]) {
        for shift in stride(from: 24, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }

    private static func append(_ text: String, to out: inout [UInt8]) {
        append(UInt32(text.utf8.count), to: &out)
        out.append(contentsOf: text.utf8)
    }
}
