/// A daemon's configuration: `key = value` lines, `#` comments, blank lines.
/// Keys are checked against what the daemon knows, so a typo is an error at
/// start-up rather than a silently ignored setting.
public struct ConfigFile: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var value: String
        public var line: Int
        /// Where the value came from when not a line of the file (e.g. "--set").
        public var origin: String? = nil
    }

    public private(set) var entries: [String: Entry]
    public let source: String

    public init(source: String = "<defaults>", entries: [String: Entry] = [:]) {
        self.source = source
        self.entries = entries
    }

    /// Parses `text`. Later lines override earlier ones (as drop-ins would).
    ///
    /// Lines, `=` and quotes are found among Unicode scalars, not Characters: "\r\n" is one
    /// Character (a CRLF file would read as one line), and a combining mark right after `=` or
    /// a quote would merge with it and hide it.
    public static func parse(_ text: String, source: String) throws(ConfigError) -> ConfigFile {
        var entries: [String: Entry] = [:]
        for (index, rawLine) in text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingWhitespaceScalars()
            if line.isEmpty || line.first == "#" || line.first == ";" { continue }
            guard let equals = line.firstIndex(of: "=") else {
                throw ConfigError(source: source, line: index + 1, message: "expected `key = value`, got `\(String(Substring(line)))`")
            }
            let key = String(Substring(line[..<equals].trimmingWhitespaceScalars()))
            var value = line[line.index(after: equals)...].trimmingWhitespaceScalars()
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." || $0 == "-" }) else {
                throw ConfigError(source: source, line: index + 1, message: "invalid key `\(key)`")
            }
            if value.count >= 2, value.first == "\"", value.last == "\"" { value = value.dropFirst().dropLast() }
            entries[key] = Entry(value: String(Substring(value)), line: index + 1)
        }
        return ConfigFile(source: source, entries: entries)
    }

    /// Fails on keys outside `known`, naming the closest known key.
    public func validate(known: Set<String>) throws(ConfigError) {
        for (key, entry) in entries.sorted(by: { $0.value.line < $1.value.line }) where !known.contains(key) {
            let closest = known.min { editDistance($0, key) < editDistance($1, key) }
            let hint = closest.flatMap { editDistance($0, key) <= max(2, key.count / 3) ? " (did you mean `\($0)`?)" : nil } ?? ""
            throw ConfigError(source: entry.origin ?? source, line: entry.origin == nil ? entry.line : 0,
                              message: "unknown setting `\(key)`\(hint)")
        }
    }

    /// Overrides `key` from outside the file; errors about it name `origin` instead of a line.
    public mutating func set(_ key: String, _ value: String, origin: String = "--set") {
        entries[key] = Entry(value: value, line: 0, origin: origin)
    }

    public func string(_ key: String, default fallback: String) -> String { entries[key]?.value ?? fallback }

    public func int(_ key: String, default fallback: Int, range: ClosedRange<Int> = Int.min...Int.max) throws(ConfigError) -> Int {
        guard let entry = entries[key] else { return fallback }
        guard let value = Int(entry.value), range.contains(value) else {
            throw ConfigError(source: entry.origin ?? source, line: entry.line, message: "`\(key)` must be an integer in \(range.lowerBound)...\(range.upperBound), got `\(entry.value)`")
        }
        return value
    }

    public func bool(_ key: String, default fallback: Bool) throws(ConfigError) -> Bool {
        guard let entry = entries[key] else { return fallback }
        switch entry.value.lowercased() {
        case "yes", "true", "on", "1": return true
        case "no", "false", "off", "0": return false
        default: throw ConfigError(source: entry.origin ?? source, line: entry.line, message: "`\(key)` must be yes or no, got `\(entry.value)`")
        }
    }

    public func duration(_ key: String, default fallback: Duration) throws(ConfigError) -> Duration {
        guard let entry = entries[key] else { return fallback }
        guard let value = DurationText.parse(entry.value) else {
            throw ConfigError(source: entry.origin ?? source, line: entry.line, message: "`\(key)` must be a duration like 500ms, 5s, 10m, 24h or 7d, got `\(entry.value)`")
        }
        return value
    }

    /// A duration setting in whole milliseconds, within `range` (ms).
    public func milliseconds(_ key: String, default fallback: Int64, range: ClosedRange<Int64>) throws(ConfigError) -> Int64 {
        guard let entry = entries[key] else { return fallback }
        let value = try duration(key, default: .zero)
        let ms = value.components.seconds * 1000 + value.components.attoseconds / 1_000_000_000_000_000
        guard range.contains(ms) else {
            throw ConfigError(source: entry.origin ?? source, line: entry.line,
                              message: "`\(key)` must be between \(DurationText.format(.milliseconds(range.lowerBound))) and \(DurationText.format(.milliseconds(range.upperBound))), got `\(entry.value)`")
        }
        return ms
    }

    /// A byte size: a number with an optional k/K, M, G suffix (1024-based: "2M" is 2 MiB).
    public func bytes(_ key: String, default fallback: Int, range: ClosedRange<Int>) throws(ConfigError) -> Int {
        guard let entry = entries[key] else { return fallback }
        let text = entry.value.trimmingWhitespace()
        let units: [Character: Int] = ["k": 1 << 10, "K": 1 << 10, "M": 1 << 20, "m": 1 << 20, "G": 1 << 30, "g": 1 << 30]
        var number = Substring(text), factor = 1
        if let last = text.last, let unit = units[last] { number = number.dropLast(); factor = unit }
        if number.hasSuffix("i") || number.hasSuffix("B") { number = number.dropLast() }
        guard let value = Int(number), value >= 0, value <= Int.max / factor, range.contains(value * factor) else {
            throw ConfigError(source: entry.origin ?? source, line: entry.line,
                              message: "`\(key)` must be a size like 512k or 2M between \(range.lowerBound) and \(range.upperBound) bytes, got `\(entry.value)`")
        }
        return value * factor
    }

    /// An error about `key` that names where its value came from: `--set`, or the file and
    /// its line (never a file that does not exist).
    public func error(_ key: String, _ message: String) -> ConfigError {
        guard let entry = entries[key] else { return ConfigError(source: "built-in default", line: 0, message: message) }
        return ConfigError(source: entry.origin ?? source, line: entry.origin == nil ? entry.line : 0, message: message)
    }

    public func line(of key: String) -> Int? { entries[key]?.line }
    /// The keys that are set (in the file or with --set).
    public var keys: [String] { entries.keys.sorted() }
}

public struct ConfigError: Error, Equatable, CustomStringConvertible {
    public var source: String
    public var line: Int
    public var message: String
    public init(source: String, line: Int, message: String) { self.source = source; self.line = line; self.message = message }
    public var description: String { line > 0 ? "\(source):\(line): \(message)" : "\(source): \(message)" }
}

/// Durations as people write them: "500ms", "5s", "10m", "24h", "7d", or a bare number of seconds.
public enum DurationText {
    /// nil for anything else, including an amount whose seconds do not fit an Int64.
    public static func parse(_ text: String) -> Duration? {
        let trimmed = text.trimmingWhitespace()
        let digits = trimmed.prefix { $0.isNumber }
        guard !digits.isEmpty, let amount = Int64(digits) else { return nil }
        let unit: Int64
        switch trimmed.dropFirst(digits.count) {
        case "ms": return .milliseconds(amount)
        case "", "s": unit = 1
        case "m", "min": unit = 60
        case "h": unit = 3600
        case "d": unit = 86_400
        default: return nil
        }
        let (seconds, overflow) = amount.multipliedReportingOverflow(by: unit)
        return overflow ? nil : .seconds(seconds)
    }

    /// The largest unit that states `duration` exactly (sub-millisecond parts are dropped).
    /// Works on Duration's seconds and milliseconds apart, so no duration overflows it.
    public static func format(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let ms = attoseconds / 1_000_000_000_000_000  // same sign as seconds, -999...999
        guard ms == 0 else {
            if seconds == 0 { return "\(ms)ms" }
            let digits = String(ms.magnitude)
            return "\(seconds)" + String(repeating: "0", count: 3 - digits.count) + digits + "ms"
        }
        if seconds > 0 && seconds % 86_400 == 0 { return "\(seconds / 86_400)d" }
        if seconds > 0 && seconds % 3600 == 0 { return "\(seconds / 3600)h" }
        if seconds > 0 && seconds % 60 == 0 { return "\(seconds / 60)m" }
        return "\(seconds)s"
    }
}

/// `host:port`, `[v6]:port`, or `:port` (all addresses).
public struct HostPort: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public init(host: String, port: Int) { self.host = host; self.port = port }

    public static func parse(_ text: String) -> HostPort? {
        let text = text.trimmingWhitespace()
        let host: Substring, portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard let port = Int(portText), (0...65535).contains(port),
              host.unicodeScalars.allSatisfy(Self.isHostCharacter) else { return nil }
        return HostPort(host: host.isEmpty ? "0.0.0.0" : String(host), port: port)
    }

    /// A name or an address: letters, digits, `-._`; `:` and `%` (an IPv6 zone) can only come
    /// from inside brackets. Anything else (spaces, `=`, another `[`) would not read back the
    /// same from `description`, and no resolver takes it.
    private static func isHostCharacter(_ c: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) || "-._:%".unicodeScalars.contains(c)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

extension StringProtocol {
    public func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}

extension Substring.UnicodeScalarView {
    func trimmingWhitespaceScalars() -> Substring.UnicodeScalarView {
        var s = self
        while let f = s.first, f.properties.isWhitespace { s.removeFirst() }
        while let l = s.last, l.properties.isWhitespace { s.removeLast() }
        return s
    }
}

private func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    var previous = Array(0...b.count)
    for i in 1...max(a.count, 1) where !a.isEmpty {
        var current = [i] + Array(repeating: 0, count: b.count)
        for j in 1...max(b.count, 1) where !b.isEmpty {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return previous[b.count]
}
