#if canImport(Glibc)
import Glibc
#endif

/// Small text helpers the daemons and streamrctl share, so no binary needs all of Foundation
/// (and its ICU data) for a `%.1f`, a directory name or a host name.
public enum TextFormat {
    /// `value` with exactly `places` decimals, rounded half away from zero ("12.5", "0.0").
    public static func fixed(_ value: Double, places: Int) -> String {
        guard value.isFinite else { return value.isNaN ? "nan" : (value < 0 ? "-inf" : "inf") }
        var scale = 1.0
        for _ in 0..<max(0, places) { scale *= 10 }
        let scaled = (abs(value) * scale).rounded(.toNearestOrAwayFromZero)
        guard scaled < 9.0e18 else { return "\(value)" }
        let units = Int64(scaled)
        let unit = Int64(scale)
        let sign = value < 0 && units != 0 ? "-" : ""
        guard places > 0 else { return sign + "\(units)" }
        let fraction = String(units % unit)
        return sign + "\(units / unit)." + String(repeating: "0", count: places - fraction.count) + fraction
    }

    /// A number with at least `width` digits, zero-padded ("07").
    public static func padded(_ value: Int64, width: Int) -> String {
        let digits = String(abs(value))
        return (value < 0 ? "-" : "") + String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// "/a/b/c.db" → "/a/b"; "c.db" → "."; "/c" → "/".
    public static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let dir = String(path[..<slash])
        return dir.isEmpty ? "/" : dir
    }

    /// This machine's host name (gethostname), "localhost" if it has none.
    public static var hostName: String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "localhost" : name
    }

    /// Writes `text` to standard error, unbuffered.
    public static func printError(_ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress! + offset, $0.count - offset) }
            if n <= 0 { if errno == EINTR { continue }; return }
            offset += n
        }
    }

    /// RFC 3339 in UTC, to the second: "2026-12-02T05:00:00Z".
    public static func timestamp(unixSeconds: Int64) -> String {
        var t = time_t(unixSeconds)
        var parts = tm()
        guard gmtime_r(&t, &parts) != nil else { return "\(unixSeconds)" }
        let p = { (v: Int32, w: Int) in padded(Int64(v), width: w) }
        return "\(p(parts.tm_year + 1900, 4))-\(p(parts.tm_mon + 1, 2))-\(p(parts.tm_mday, 2))T"
            + "\(p(parts.tm_hour, 2)):\(p(parts.tm_min, 2)):\(p(parts.tm_sec, 2))Z"
    }

    /// Unix seconds of the last local midnight at or before `unixSeconds`.
    public static func localMidnight(unixSeconds: Int64) -> Int64 {
        var t = time_t(unixSeconds)
        var parts = tm()
        guard localtime_r(&t, &parts) != nil else { return unixSeconds - unixSeconds % 86_400 }
        parts.tm_hour = 0; parts.tm_min = 0; parts.tm_sec = 0; parts.tm_isdst = -1
        return Int64(mktime(&parts))
    }
}
