/// Durations as people type them: "90s", "30m", "1h", "7d". Used for accounting periods
/// and invite lifetimes; whole seconds are all either needs.
public enum Period {
    private static let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
    /// Ten years: longer is surely a typo, and keeps timestamps far from overflow.
    public static let maxSeconds: Int64 = 3650 * 86_400

    public static func parse(_ text: String) throws -> Int64 {
        let bad = InvalidInput("bad duration `\(text)`: use a whole number and a unit s, m, h or d, e.g. 30m, 1h, 1d")
        guard let unit = text.last, let factor = units[unit] else { throw bad }
        let digits = text.dropLast()
        guard !digits.isEmpty, digits.utf8.allSatisfy({ (48...57).contains($0) }) else { throw bad }
        guard let count = Int64(digits), count <= maxSeconds / factor else {
            throw InvalidInput("duration `\(text)` is too long: at most 3650d")
        }
        guard count > 0 else { throw InvalidInput("bad duration `\(text)`: must be longer than zero") }
        return count * factor
    }

    /// The shortest exact form: 3600 → "1h", 5400 → "90m".
    public static func format(_ seconds: Int64) -> String {
        for (unit, factor) in [("d", Int64(86_400)), ("h", 3600), ("m", 60)] where seconds % factor == 0 && seconds > 0 {
            return "\(seconds / factor)\(unit)"
        }
        return "\(seconds)s"
    }
}
