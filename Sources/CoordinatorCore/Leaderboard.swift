/// Ranks nodes by verified uptime within a window of time.
public enum Leaderboard {
    public struct Entry: Sendable, Equatable {
        public var node: String
        public var uptimeMs: Int64
        /// Streams the uptime was verified for, sorted.
        public var streams: [String]
        public var rank: Int
    }

    /// Uptime per node within [fromMs, toMs]: each interval clipped to the window, and the
    /// union taken per node, so a node relaying two streams at once is not counted twice.
    /// Ranked by uptime, then node id (stable); equal uptimes share a rank (1, 2, 2, 4).
    public static func rank(_ intervals: [UptimeInterval], fromMs: Int64, toMs: Int64) -> [Entry] {
        var byNode: [String: [UptimeInterval]] = [:]
        for interval in intervals where interval.endMs >= fromMs && interval.startMs <= toMs {
            byNode[interval.node, default: []].append(interval)
        }
        var entries = byNode.map { node, list -> Entry in
            let clipped = list.map { (max($0.startMs, fromMs), min($0.endMs, toMs)) }.sorted { $0.0 < $1.0 }
            var total: Int64 = 0
            var current: (Int64, Int64)?
            for span in clipped {
                if let c = current, span.0 <= c.1 {
                    current = (c.0, max(c.1, span.1))
                } else {
                    if let c = current { total += c.1 - c.0 }
                    current = span
                }
            }
            if let c = current { total += c.1 - c.0 }
            return Entry(node: node, uptimeMs: total, streams: Set(list.map(\.stream)).sorted(), rank: 0)
        }
        entries.sort { $0.uptimeMs != $1.uptimeMs ? $0.uptimeMs > $1.uptimeMs : $0.node < $1.node }
        for i in entries.indices {
            entries[i].rank = i > 0 && entries[i].uptimeMs == entries[i - 1].uptimeMs ? entries[i - 1].rank : i + 1
        }
        return entries
    }

    /// "2h 05m", "12m 30s", "45s".
    public static func formatDuration(ms: Int64) -> String {
        let s = max(0, ms / 1000)
        if s >= 3600 { return "\(s / 3600)h \(String(format2: (s % 3600) / 60))m" }
        if s >= 60 { return "\(s / 60)m \(String(format2: s % 60))s" }
        return "\(s)s"
    }
}

extension String {
    init(format2 value: Int64) { self = value < 10 ? "0\(value)" : "\(value)" }
}
