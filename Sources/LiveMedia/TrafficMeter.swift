import NIOConcurrencyHelpers
import Synchronization

/// What a node serves, counted in one place: every byte handed to a viewer of any kind
/// (HTTP-FLV, RTMP play, HLS segments, `/chunks`, child relays) goes through `add`, on the
/// stream's meter, which also counts it on the node's. Heartbeats report it and the upload
/// cap is kept by it. Bytes are counted when handed to the connection (a viewer that stops
/// reading is bounded by its queue limit and then dropped).
public final class TrafficMeter: Sendable {
    public enum Kind: Int, Sendable, CaseIterable {
        case flv, rtmp, hls, chunk, relay
        public var name: String { ["http_flv", "rtmp", "hls", "chunks", "relay"][rawValue] }
    }

    private let flv = Synchronization.Atomic<Int64>(0), rtmp = Synchronization.Atomic<Int64>(0), hls = Synchronization.Atomic<Int64>(0)
    private let chunk = Synchronization.Atomic<Int64>(0), relay = Synchronization.Atomic<Int64>(0)
    private let parent: TrafficMeter?
    /// Served before this process started (heartbeats report totals across restarts).
    private let base: Int64
    private let rate = NIOLockedValueBox(RateSamples())

    public init(parent: TrafficMeter? = nil, startingTotal: Int64 = 0) {
        self.parent = parent
        self.base = startingTotal
    }

    public func add(_ bytes: Int, _ kind: Kind) {
        guard bytes > 0 else { return }
        withCounter(kind) { _ = $0.add(Int64(bytes), ordering: .relaxed) }
        parent?.add(bytes, kind)
    }

    public func bytes(_ kind: Kind) -> Int64 { withCounter(kind) { $0.load(ordering: .relaxed) } }

    private func withCounter<R>(_ kind: Kind, _ body: (borrowing Synchronization.Atomic<Int64>) -> R) -> R {
        switch kind {
        case .flv: body(flv)
        case .rtmp: body(rtmp)
        case .hls: body(hls)
        case .chunk: body(chunk)
        case .relay: body(relay)
        }
    }
    /// Everything served, including what earlier runs served (`startingTotal`).
    public var total: Int64 { Kind.allCases.reduce(base) { $0 + bytes($1) } }

    /// Bits per second over about the last five seconds (sampled when asked; what was sent in a
    /// shorter time is spread over five seconds, as a per-second average would).
    public func bitsPerSecond(nowMs: Int64) -> UInt64 {
        let total = self.total
        return rate.withLockedValue { $0.rate(total: total, nowMs: nowMs) }
    }
}

/// Total-bytes samples, at most one per 250 ms, kept for `windowMs`.
struct RateSamples {
    var samples: [(ms: Int64, total: Int64)] = []
    let windowMs: Int64 = 5000

    mutating func rate(total: Int64, nowMs: Int64) -> UInt64 {
        if samples.last.map({ nowMs - $0.ms >= 250 }) ?? true { samples.append((nowMs, total)) }
        while samples.count > 2, nowMs - samples[1].ms >= windowMs { samples.removeFirst() }
        guard let first = samples.first, nowMs > first.ms else { return 0 }
        // Over the whole window at least: bytes just sent are not an instant rate of gigabits.
        return UInt64(max(0, total - first.total)) * 8 * 1000 / UInt64(max(nowMs - first.ms, windowMs))
    }
}
