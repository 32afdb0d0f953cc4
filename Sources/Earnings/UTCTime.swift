/// Unix milliseconds as ISO 8601 UTC text for explanations and memos, without Foundation.
public enum UTCTime {
    /// "2026-12-01T10:00:00Z", with ".250" when the milliseconds are not zero.
    public static func format(_ ms: Int64) -> String {
        let (days, msOfDay) = floorDivMod(ms, 86_400_000)
        let (y, m, d) = civil(fromDays: days)
        let s = msOfDay / 1000
        var out = "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(s / 3600, 2)):\(pad(s / 60 % 60, 2)):\(pad(s % 60, 2))"
        if msOfDay % 1000 != 0 { out += "." + pad(msOfDay % 1000, 3) }
        return out + "Z"
    }

    /// "2026-12-01".
    public static func date(_ ms: Int64) -> String { String(format(ms).prefix(10)) }

    /// Howard Hinnant's days-from-civil inverse (proleptic Gregorian), exact for any Int64 day
    /// that the engine's time range produces.
    static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    static func floorDivMod(_ a: Int64, _ b: Int64) -> (Int64, Int64) {
        let r = a % b
        return r < 0 ? (a / b - 1, r + b) : (a / b, r)
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
}
