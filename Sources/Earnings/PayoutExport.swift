/// A payout batch as files a person works from. CSV is RFC 4180: CRLF line ends, a field in
/// double quotes when it holds a comma, quote, CR or LF, quotes inside doubled.
public enum PayoutExport {
    /// For PayPal Payouts Web's upload: no header (PayPal reads the first row as a payment), one
    /// row per payment with: recipient (email or Venmo username), amount (decimal, exact from
    /// the minor units), currency, customer ID (the node id, ≤ 30 characters), note, recipient
    /// wallet (PAYPAL or VENMO), social feed privacy (PRIVATE for Venmo, empty for PayPal).
    /// `decimalSeparator: ","` for a PayPal account in a comma locale (the field is then quoted).
    public static func payPalCSV(_ batch: PayoutBatch, decimalSeparator: String = ".") -> String {
        batch.rows.map { row in
            csvLine([row.recipient.identifier, batch.currency.format(row.amountMinor, decimalSeparator: decimalSeparator),
                     batch.currency.code, row.node, batch.note, row.recipient.wallet.rawValue,
                     row.recipient.wallet == .venmo ? "PRIVATE" : ""])
        }.joined()
    }

    /// A checklist for paying by hand (in the Venmo app, say), with a header and an empty `paid`
    /// column to tick. Names and notes that a spreadsheet would read as a formula (starting with
    /// = + - @) get a leading apostrophe, the usual defence against formula injection.
    public static func checklistCSV(_ batch: PayoutBatch) -> String {
        let header = csvLine(["batch", "node_id", "display_name", "wallet", "recipient", "amount", "currency", "note", "paid"])
        return header + batch.rows.map { row in
            csvLine([batch.id, row.node, inert(row.displayName), row.recipient.wallet.rawValue, row.recipient.identifier,
                     batch.currency.format(row.amountMinor), batch.currency.code, inert(batch.note), ""])
        }.joined()
    }

    /// The batch as JSON, amounts both as exact decimal strings and as integer minor units (no
    /// floats anywhere). `ledgerHead`: the ledger's sequence and head hash when the batch was
    /// written, for anyone keeping the file to check later that history was not rewritten.
    public static func json(_ batch: PayoutBatch, ledgerHead: LedgerAnchor? = nil) -> String {
        var out = "{\n"
        out += "  \"batch\": \(quote(batch.id)),\n"
        out += "  \"created_at\": \(quote(UTCTime.format(batch.createdAtMs))),\n"
        out += "  \"currency\": \(quote(batch.currency.code)),\n"
        out += "  \"exponent\": \(batch.currency.exponent),\n"
        out += "  \"total\": \(quote(batch.currency.format(batch.totalMinor))),\n"
        out += "  \"total_minor\": \(batch.totalMinor),\n"
        out += "  \"note\": \(quote(batch.note)),\n"
        if let head = ledgerHead {
            out += "  \"ledger\": {\"sequence\": \(head.sequence), \"head\": \(quote(LedgerChain.hex(head.hash)))},\n"
        }
        out += "  \"rows\": ["
        out += batch.rows.map { row in
            "\n    {\"node_id\": \(quote(row.node)), \"display_name\": \(quote(row.displayName)), \"handle\": \(quote(row.handle)), "
                + "\"wallet\": \(quote(row.recipient.wallet.rawValue)), \"recipient\": \(quote(row.recipient.identifier)), "
                + "\"amount\": \(quote(batch.currency.format(row.amountMinor))), \"amount_minor\": \(row.amountMinor)}"
        }.joined(separator: ",")
        out += batch.rows.isEmpty ? "]\n}\n" : "\n  ]\n}\n"
        return out
    }

    static func csvLine(_ fields: [String]) -> String { fields.map(csvField).joined(separator: ",") + "\r\n" }

    static func csvField(_ field: String) -> String {
        guard field.utf8.contains(where: { $0 == 44 || $0 == 34 || $0 == 13 || $0 == 10 }) else { return field }
        return "\"" + field.split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\"\"") + "\""
    }

    static func inert(_ text: String) -> String {
        guard let first = text.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) else { return text }
        return "'" + text
    }

    /// A JSON string: quotes, backslashes and control characters escaped, the rest as UTF-8.
    public static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
