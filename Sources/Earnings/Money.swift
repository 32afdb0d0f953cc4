/// A currency as the ledger and the exports need it: its ISO 4217 code and exponent (how many
/// decimals its minor unit has). CoordinatorCore's `Currency` maps onto it one to one
/// (`code`, `decimals`); it is its own type so this module depends on nothing.
public struct CurrencyUnit: Sendable, Hashable, CustomStringConvertible {
    public let code: String
    public let exponent: Int

    /// `code`: three upper-case ASCII letters; `exponent`: 0–4 (ISO 4217 has nothing above 4).
    public init(_ code: String, exponent: Int) throws {
        guard code.utf8.count == 3, code.utf8.allSatisfy({ (65...90).contains($0) }) else {
            throw EarningsError("bad currency code `\(code)`: three upper-case letters, e.g. USD")
        }
        guard (0...4).contains(exponent) else { throw EarningsError("bad exponent \(exponent) for \(code): 0–4") }
        self.code = code
        self.exponent = exponent
    }

    private init(known code: String, exponent: Int) { self.code = code; self.exponent = exponent }
    public static let usd = CurrencyUnit(known: "USD", exponent: 2)
    public static let eur = CurrencyUnit(known: "EUR", exponent: 2)
    public static let jpy = CurrencyUnit(known: "JPY", exponent: 0)

    /// "1000.00" for 100000 minor units of USD; exact, from the integer (never a float).
    public func format(_ minor: Int64, decimalSeparator: String = ".") -> String {
        MinorUnits.format(minor, exponent: exponent, decimalSeparator: decimalSeparator)
    }

    public var description: String { code }
}

public enum MinorUnits {
    /// An integer amount of minor units as a decimal: (-)whole.fraction with exactly `exponent`
    /// decimals. Negative amounts (reversals, in explanations) keep their sign; Int64.min works.
    public static func format(_ minor: Int64, exponent: Int, decimalSeparator: String = ".") -> String {
        precondition((0...18).contains(exponent))
        let sign = minor < 0 ? "-" : ""
        let magnitude = minor.magnitude
        guard exponent > 0 else { return sign + String(magnitude) }
        var scale: UInt64 = 1
        for _ in 0..<exponent { scale *= 10 }
        let fraction = String(magnitude % scale)
        return sign + String(magnitude / scale) + decimalSeparator
            + String(repeating: "0", count: exponent - fraction.count) + fraction
    }
}

/// Parts per million, the unit of quality and penalties: exact integers, 1_000_000 = 1.
public enum PPM {
    public static let one: Int64 = 1_000_000

    /// "0.973500", "1.000000": always six decimals, so a table of qualities lines up.
    public static func format(_ ppm: Int64) -> String { MinorUnits.format(ppm, exponent: 6) }
}

/// A rational number num/den with 0 ≤ num ≤ den, den ≤ 10^6: the penalty's decay per period.
/// Rational so "one half" is exactly one half and the arithmetic stays in integers.
public struct Ratio: Sendable, Hashable, CustomStringConvertible {
    public let numerator: Int64
    public let denominator: Int64

    public init(_ numerator: Int64, _ denominator: Int64) throws {
        guard (1...1_000_000).contains(denominator), (0...denominator).contains(numerator) else {
            throw EarningsError("bad ratio \(numerator)/\(denominator): need 0 ≤ numerator ≤ denominator ≤ 1000000, denominator ≥ 1")
        }
        self.numerator = numerator
        self.denominator = denominator
    }

    private init(known numerator: Int64, _ denominator: Int64) { self.numerator = numerator; self.denominator = denominator }
    public static let half = Ratio(known: 1, 2)

    /// ⌊value × num / den⌋ for 0 ≤ value ≤ 10^6 (no overflow: at most 10^12).
    func floorTimes(_ value: Int64) -> Int64 { value * numerator / denominator }

    public var description: String { "\(numerator)/\(denominator)" }
}

/// An exact share of a pool: whole + remainder/denominator minor units, 0 ≤ remainder < denominator.
public struct ExactShare: Sendable, Hashable, CustomStringConvertible {
    public let whole: Int64
    public let remainder: Int64
    public let denominator: Int64
    public var description: String { remainder == 0 ? "\(whole)" : "\(whole) + \(remainder)/\(denominator)" }
}
