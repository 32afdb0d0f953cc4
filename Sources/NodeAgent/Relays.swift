import LiveMedia
import Logging
import NIOConcurrencyHelpers
import Relay
import StreamrRPC
import StreamrTLS
import StreamrWire

/// The streams this node relays, each subscribed at the ingest by a `RelayClient` (reconnecting
/// with backoff, resuming after the last verified chunk) and checked against the host's signing
/// key, started and stopped as the coordinator's settings say. Each stream's HLS outlives
/// subscriptions and chains (its media sequence only grows).
public final class Relays: Sendable {
    let ingestAddress: NIOLockedValueBox<String>
    let tls: TLSContext
    let limits: LiveStream.Limits
    /// Every byte this node serves, all streams together (the upload cap, heartbeats).
    let meter: TrafficMeter
    let logger: Logger
    private let state = NIOLockedValueBox(State())

    struct State {
        var signingKey: PublicKey?
        var paused = false
        var wanted: [String] = []
        var streams: [String: RelayedStream] = [:]
        var hls: [String: HLSFeed] = [:]
        var tasks: [String: Task<Void, Never>] = [:]
        /// Per stream, for the process's life (totals survive restarts through node.db).
        var meters: [String: TrafficMeter] = [:]
        var servedBefore: [String: Int64] = [:]
    }

    init(ingestAddress: String, signingKey: PublicKey?, tls: TLSContext, limits: LiveStream.Limits = .init(),
         meter: TrafficMeter, servedBefore: [String: Int64] = [:], logger: Logger) {
        self.ingestAddress = NIOLockedValueBox(ingestAddress); self.tls = tls; self.limits = limits
        self.meter = meter; self.logger = logger
        state.withLockedValue { $0.signingKey = signingKey; $0.servedBefore = servedBefore }
    }

    /// Bytes served per stream, since the node was first started.
    func bytesServed() -> [String: Int64] {
        state.withLockedValue { s in
            var totals = s.servedBefore
            for (name, meter) in s.meters { totals[name] = meter.total }
            return totals
        }
    }

    /// The stream `name` as viewers reach it (nil unless this node relays it).
    public func stream(named name: String) -> RelayedStream? { state.withLockedValue { $0.streams[name] } }
    func hls(named name: String) -> HLSFeed? { state.withLockedValue { $0.hls[name] } }
    /// Players of `relayed` now: HTTP-FLV and RTMP, and HLS players seen lately.
    func viewers(_ relayed: RelayedStream, nowMs: Int64) -> Int {
        relayed.live.playerCount + (hls(named: relayed.name)?.viewerCount(nowMs: nowMs) ?? 0)
    }
    public var all: [RelayedStream] { state.withLockedValue { Array($0.streams.values) } }
    var signingKey: PublicKey? { state.withLockedValue { $0.signingKey } }

    /// The host's signing key (from join, or the coordinator's settings): relaying starts
    /// once it is known, since no chunk can be checked without it.
    func setSigningKey(_ key: PublicKey) {
        let changed = state.withLockedValue { s -> Bool in
            defer { s.signingKey = key }
            return s.signingKey != key
        }
        if changed { set(state.withLockedValue { $0.wanted }, restart: true) }
    }

    /// Paused by the friend: nothing is relayed (viewers get the end and go elsewhere) until
    /// resumed; the coordinator's settings are kept for then.
    func setPaused(_ paused: Bool) {
        let changed = state.withLockedValue { s -> Bool in defer { s.paused = paused }; return s.paused != paused }
        if changed { set(state.withLockedValue { $0.wanted }) }
    }

    /// Relays exactly `names` from now on (none while paused).
    func set(_ names: [String], restart: Bool = false) {
        let (started, stopped) = state.withLockedValue { s -> ([String], [(Task<Void, Never>, RelayedStream?)]) in
            s.wanted = names
            let wanted = s.paused ? [] : Set(names)
            var stopped: [(Task<Void, Never>, RelayedStream?)] = []
            for name in s.tasks.keys where !wanted.contains(name) || restart {
                stopped.append((s.tasks.removeValue(forKey: name)!, s.streams.removeValue(forKey: name)))
                if !wanted.contains(name) { s.hls[name] = nil }
            }
            guard let key = s.signingKey else { return ([], stopped) }
            let started = names.filter { wanted.contains($0) && s.tasks[$0] == nil }
            for name in started {
                let hls = s.hls[name] ?? HLSFeed(stream: name)
                s.hls[name] = hls
                let streamMeter = s.meters[name] ?? TrafficMeter(parent: meter, startingTotal: s.servedBefore[name] ?? 0)
                s.meters[name] = streamMeter
                let relayed = RelayedStream(name: name, signingKey: key, limits: limits, meter: streamMeter,
                                            onChunk: { chunk, headers, newChain in hls.add(chunk, headers: headers, newChain: newChain) })
                s.streams[name] = relayed
                let client = RelayClient(relayed: relayed, parent: { [ingestAddress] in RelayClient.parse(ingestAddress.withLockedValue { $0 }) },
                                         tls: tls, logger: logger)
                s.tasks[name] = Task { await client.run() }
            }
            return (started, stopped)
        }
        for (task, relayed) in stopped { task.cancel(); relayed?.stop() }
        if !started.isEmpty { logger.info("relaying \(started.joined(separator: ", "))") }
    }

    func stopAll() {
        let stopped = state.withLockedValue { s in
            defer { s.tasks.removeAll(); s.streams.removeAll() }
            return s.tasks.map { ($0.value, s.streams[$0.key]) }
        }
        for (task, relayed) in stopped { task.cancel(); relayed?.stop() }
    }
}
