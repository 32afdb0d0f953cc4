/// One accounting period of a stream, and the part of the stream's pool it carries.
public struct AccountingPeriod: Sendable, Hashable, CustomStringConvertible {
    /// [start, end): what uptime and checks are taken from.
    public var span: TimeSpan
    /// The aligned period this one is part of; equal to `span` except for the first period
    /// after the stream was created (or its period length changed).
    public var alignedSpan: TimeSpan
    public var isPartial: Bool { span != alignedSpan }

    /// ⌊pool × span / aligned span⌋: a period that is 43 of 60 minutes long carries 43/60 of the pool.
    public func poolMinor(ofFullPeriod poolMinor: Int64) -> Int64 {
        mulDiv(poolMinor, span.durationMs, alignedSpan.durationMs).quotient
    }

    public var description: String { "\(UTCTime.format(span.startMs))–\(UTCTime.format(span.endMs))" }
}

/// When a fact (a heartbeat interval, a check, a flag) arrived, relative to the periods.
public enum FactTiming: Sendable, Hashable {
    /// Its period is still open: it counts when that period closes.
    case open(AccountingPeriod)
    /// Its period is closed: ignored (a closed period is never recomputed) and logged.
    case late(AccountingPeriod)
    /// Before the stream existed: ignored and logged.
    case beforeStream
    /// Ahead of now by more than the tolerance (a wrong clock): refused.
    case future
}

/// A stream's periods: aligned to multiples of the period length since the unix epoch (so hourly
/// periods run on the hour, UTC), the first one starting when the stream was created. Each
/// closes by itself `closeDelayMs` after it ends, once its last heartbeats and checks are in.
public struct PeriodSchedule: Sendable, Hashable {
    public let lengthMs: Int64
    public let streamCreatedMs: Int64
    public let closeDelayMs: Int64

    /// `lengthSeconds`: 1 s to 3650 d (hourly by default); `closeDelayMs`: 0 to one period.
    public init(lengthSeconds: Int64 = 3600, streamCreatedMs: Int64, closeDelayMs: Int64 = 60_000) throws {
        guard (1...(3650 * 86_400)).contains(lengthSeconds) else { throw EarningsError("period length \(lengthSeconds) s is outside 1 s–3650 d") }
        guard TimeSpan.validTimes.contains(streamCreatedMs) else { throw EarningsError("bad stream creation time \(streamCreatedMs)") }
        guard (0...(lengthSeconds * 1000)).contains(closeDelayMs) else { throw EarningsError("close delay \(closeDelayMs) ms is outside 0–one period") }
        lengthMs = lengthSeconds * 1000
        self.streamCreatedMs = streamCreatedMs
        self.closeDelayMs = closeDelayMs
    }

    /// The period holding instant `t` (nil before the stream was created).
    public func period(containing t: Int64) -> AccountingPeriod? {
        guard t >= streamCreatedMs, t <= TimeSpan.validTimes.upperBound else { return nil }
        return period(startingAt: max(streamCreatedMs, t - t % lengthMs))
    }

    /// The period that begins at `start` (a boundary, the creation time or where closing left off).
    func period(startingAt start: Int64) -> AccountingPeriod {
        let alignedStart = start - start % lengthMs
        let aligned = TimeSpan(alignedStart, alignedStart + lengthMs)
        return AccountingPeriod(span: TimeSpan(start, aligned.endMs), alignedSpan: aligned)
    }

    /// The periods to close now, oldest first: every one after `closedThroughMs` (the end of the
    /// last closed period; nil when none is) whose end is at least `closeDelayMs` ago. At most
    /// `limit`, so catching up after a long outage goes in bounded steps, in order (each
    /// period's penalties carry into the next).
    public func due(nowMs: Int64, closedThroughMs: Int64?, limit: Int = 1000) -> [AccountingPeriod] {
        var start = max(streamCreatedMs, closedThroughMs ?? streamCreatedMs)
        var out: [AccountingPeriod] = []
        while out.count < limit, start <= TimeSpan.validTimes.upperBound - lengthMs {
            let period = period(startingAt: start)
            guard period.span.endMs + closeDelayMs <= nowMs else { break }
            out.append(period)
            start = period.span.endMs
        }
        return out
    }

    /// Where a fact stamped `atMs` belongs, seen at `nowMs` with periods closed up to `closedThroughMs`.
    public func classify(atMs: Int64, nowMs: Int64, closedThroughMs: Int64?, futureToleranceMs: Int64 = 60_000) -> FactTiming {
        guard let period = period(containing: atMs) else { return atMs < streamCreatedMs ? .beforeStream : .future }
        if atMs > nowMs + futureToleranceMs { return .future }
        guard let closed = closedThroughMs else { return .open(period) }
        if atMs < closed { return .late(period) }
        // Closing stopped inside an aligned period (its length changed): the open one starts there.
        return .open(closed > period.span.startMs ? self.period(startingAt: closed) : period)
    }

    /// A span that reaches back into closed periods: the part a close already passed over (late:
    /// ignored and logged) and the part still to count.
    public func split(_ span: TimeSpan, closedThroughMs: Int64?) -> (late: TimeSpan?, open: TimeSpan?) {
        let closed = closedThroughMs ?? Int64.min
        let late = TimeSpan(span.startMs, min(span.endMs, closed))
        let open = TimeSpan(max(span.startMs, closed), span.endMs)
        return (late.isEmpty ? nil : late, open.isEmpty ? nil : open)
    }
}
