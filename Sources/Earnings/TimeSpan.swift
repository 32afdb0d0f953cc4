/// A half-open stretch of time [startMs, endMs) in unix milliseconds. Half-open so consecutive
/// periods and pieces tile time with nothing counted twice and nothing lost.
public struct TimeSpan: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var startMs: Int64
    public var endMs: Int64

    public init(_ startMs: Int64, _ endMs: Int64) { self.startMs = startMs; self.endMs = endMs }

    /// Times the engine accepts: 1970-01-01 to 9999-12-31, so no difference or sum of two overflows.
    public static let validTimes: ClosedRange<Int64> = 0...253_402_300_799_999

    public var durationMs: Int64 { max(0, endMs - startMs) }
    public var isEmpty: Bool { endMs <= startMs }
    public func contains(_ t: Int64) -> Bool { startMs <= t && t < endMs }

    public static func < (a: TimeSpan, b: TimeSpan) -> Bool { (a.startMs, a.endMs) < (b.startMs, b.endMs) }
    public var description: String { "[\(startMs), \(endMs))" }

    func validate(_ what: String) throws {
        guard TimeSpan.validTimes.contains(startMs), TimeSpan.validTimes.contains(endMs), startMs <= endMs else {
            throw EarningsError("bad \(what) \(self): need start ≤ end, both unix ms within years 1970–9999")
        }
    }
}

/// A set of instants as sorted, disjoint, non-touching spans. Overlapping inputs (two uptime
/// intervals of one node, a pause entered twice) are merged, so no instant counts twice.
public struct SpanSet: Sendable, Equatable, CustomStringConvertible {
    public private(set) var spans: [TimeSpan]

    public init(_ input: some Sequence<TimeSpan>) {
        var merged: [TimeSpan] = []
        for span in input.filter({ !$0.isEmpty }).sorted() {
            if let last = merged.last, span.startMs <= last.endMs {
                merged[merged.count - 1].endMs = max(last.endMs, span.endMs)
            } else {
                merged.append(span)
            }
        }
        spans = merged
    }

    private init(sorted: [TimeSpan]) { spans = sorted }
    public static let empty = SpanSet(sorted: [])

    public var totalMs: Int64 { spans.reduce(0) { $0 + $1.durationMs } }

    public func intersection(_ other: SpanSet) -> SpanSet {
        var out: [TimeSpan] = []
        var i = 0, j = 0
        while i < spans.count, j < other.spans.count {
            let a = spans[i], b = other.spans[j]
            let s = max(a.startMs, b.startMs), e = min(a.endMs, b.endMs)
            if s < e { out.append(TimeSpan(s, e)) }
            if a.endMs < b.endMs { i += 1 } else { j += 1 }
        }
        return SpanSet(sorted: out)
    }

    public func intersection(_ span: TimeSpan) -> SpanSet { intersection(SpanSet([span])) }

    public func subtracting(_ other: SpanSet) -> SpanSet {
        var out: [TimeSpan] = []
        var j = 0
        for a in spans {
            var start = a.startMs
            while j < other.spans.count, other.spans[j].endMs <= start { j += 1 }
            var k = j
            while k < other.spans.count, other.spans[k].startMs < a.endMs {
                if other.spans[k].startMs > start { out.append(TimeSpan(start, other.spans[k].startMs)) }
                start = max(start, other.spans[k].endMs)
                k += 1
            }
            if start < a.endMs { out.append(TimeSpan(start, a.endMs)) }
        }
        return SpanSet(sorted: out)
    }

    /// How much of `span` the set covers.
    public func measure(in span: TimeSpan) -> Int64 {
        var total: Int64 = 0
        var i = firstIndex(endingAfter: span.startMs)
        while i < spans.count, spans[i].startMs < span.endMs {
            total += max(0, min(spans[i].endMs, span.endMs) - max(spans[i].startMs, span.startMs))
            i += 1
        }
        return total
    }

    public func contains(_ t: Int64) -> Bool {
        let i = firstIndex(endingAfter: t)
        return i < spans.count && spans[i].contains(t)
    }

    /// The first span whose end is after `t` (binary search).
    private func firstIndex(endingAfter t: Int64) -> Int {
        var low = 0, high = spans.count
        while low < high {
            let mid = (low + high) / 2
            if spans[mid].endMs <= t { low = mid + 1 } else { high = mid }
        }
        return low
    }

    public var description: String { spans.map(\.description).joined(separator: " ") }
}
