/// A currency the pool can be kept in, with its number of decimals (ISO 4217 minor unit).
public struct Currency: Sendable, Equatable, Hashable, CustomStringConvertible {
    public let code: String
    public let decimals: Int

    static let known: [String: Int] = [
        "USD": 2, "EUR": 2, "GBP": 2, "CAD": 2, "AUD": 2, "NZD": 2, "CHF": 2, "SEK": 2, "NOK": 2,
        "DKK": 2, "PLN": 2, "CZK": 2, "BRL": 2, "MXN": 2, "INR": 2, "JPY": 0, "KRW": 0,
    ]

    /// Accepts a known code in any case ("usd" → USD).
    public static func parse(_ text: String) throws -> Currency {
        let code = text.uppercased()
        guard let decimals = known[code] else {
            throw InvalidInput("unknown currency `\(text)`: use one of \(known.keys.sorted().joined(separator: ", "))")
        }
        return Currency(code: code, decimals: decimals)
    }

    public var description: String { code }
}

/// An amount in integer minor units (cents), never floating point: shares must add up exactly.
public struct Amount: Sendable, Equatable, CustomStringConvertible {
    public let minor: Int64
    public let currency: Currency

    public init(minor: Int64, currency: Currency) { self.minor = minor; self.currency = currency }

    /// Parses "1000", "1000.5" or "1000.00" (no sign, no separators, at most the currency's decimals).
    public static func parse(_ text: String, currency: Currency) throws -> Amount {
        let example = currency.decimals == 0 ? "1000" : "1000." + String(repeating: "0", count: currency.decimals)
        let bad = InvalidInput("bad amount `\(text)`: use digits with at most \(currency.decimals) decimals, e.g. \(example)")
        if text.hasPrefix("-") { throw InvalidInput("bad amount `\(text)`: an amount cannot be negative") }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let whole = parts.first, !whole.isEmpty,
              whole.utf8.allSatisfy({ (48...57).contains($0) }) else { throw bad }
        var fraction = parts.count == 2 ? String(parts[1]) : ""
        guard parts.count == 1 || !fraction.isEmpty, fraction.utf8.allSatisfy({ (48...57).contains($0) }),
              fraction.count <= currency.decimals else { throw bad }
        fraction += String(repeating: "0", count: currency.decimals - fraction.count)
        var scale: Int64 = 1
        for _ in 0..<currency.decimals { scale *= 10 }
        guard let units = Int64(whole), let cents = Int64(fraction.isEmpty ? "0" : fraction) else {
            throw InvalidInput("bad amount `\(text)`: too large")
        }
        let (scaled, overflow) = units.multipliedReportingOverflow(by: scale)
        guard !overflow, scaled <= Int64.max - cents else { throw InvalidInput("bad amount `\(text)`: too large") }
        return Amount(minor: scaled + cents, currency: currency)
    }

    /// "1000.00" (without the currency code).
    public var formatted: String {
        guard currency.decimals > 0 else { return String(minor) }
        var scale: Int64 = 1
        for _ in 0..<currency.decimals { scale *= 10 }
        let fraction = String(minor % scale)
        return "\(minor / scale)." + String(repeating: "0", count: currency.decimals - fraction.count) + fraction
    }

    /// "1000.00 USD"
    public var description: String { "\(formatted) \(currency.code)" }
}
