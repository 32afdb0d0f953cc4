import CoordinatorCore
import Logging
import NIOConcurrencyHelpers
import StreamrConfig
import StreamrRPC
import StreamrStore
import StreamrWire
import Validation

/// The coordinator's side of the validator, on the control socket: the nodes it may check
/// (`validator targets`, which is also its keepalive and marks coverage), one-time pins that
/// let a probe come through `/watch` to the node it checks (`validator pin`), and its results
/// (`SpotCheckReport`s, answered once stored). From the results: routing scores for `/watch`
/// and the leaderboard (`Validation.RoutingScores`), and fraud flags (`Validation.FraudPolicy`:
/// one altered response, repeated stale). A periodic tick (`Ticker`) adds what no single
/// report shows: sybil identities and inflated or self-dealt claims.
public final class ValidatorDesk: Sendable {
    public struct Configuration: Sendable {
        public var fraud = FraudPolicy.Configuration()
        public var routing = RoutingScore.Configuration()
        /// A pin is good for one `/watch` request within this time.
        public var pinLifetimeMs: Int64 = 15_000
        /// A validator unheard of for this long has stopped covering.
        public var coverageSilenceMs: Int64 = 10_000
        /// Byte claims are judged this long after the fact (see ClaimWindow.samples).
        public var claimsLagMs: Int64 = 30_000
        public init() {}
    }

    let store: CoordinatorStore
    let sessions: NodeSessions?
    public let configuration: Configuration
    let onlineWindowMs: Int64
    let clockMs: @Sendable () -> Int64
    let logger: Logger
    let state: NIOLockedValueBox<State>

    struct Key: Hashable, Sendable {
        var node: String
        var stream: String
    }

    struct Pin: Sendable {
        var node: String
        var stream: String
        var format: String
        var expiresMs: Int64
    }

    struct Coverage: Sendable {
        var intervalID: Int64?
        var lastMs: Int64
    }

    /// What a node claimed for a stream in the current period, sampled from its heartbeats.
    struct ClaimWindow: Sendable {
        var periodStartMs: Int64
        var baselineBytes: UInt64
        var lastBytes: UInt64
        var peakViewers: UInt32 = 0
        var uptimeMs: Int64 = 0
        var lastSampleMs: Int64?
        var viewersAtStart: UInt32 = 0
        /// From the latest assessment.
        var countedViewers: UInt32?
        var countedBytes: UInt64?
        /// The bytes claim the latest assessment judged (as of `claimsLagMs` before it).
        var judgedBytes: UInt64?
        /// Viewers `/watch` sent it in the period, not from its own address.
        var viewersSent: UInt32 = 0
        /// Recent (time, cumulative bytes) samples: claims are judged as of `claimsLagMs` ago,
        /// when the results of the probes made until then have arrived (a probe's bytes show in
        /// a heartbeat before its result reaches the coordinator).
        var samples: [(ms: Int64, bytes: UInt64)] = []
        var claimedBytes: UInt64 { lastBytes >= baselineBytes ? lastBytes - baselineBytes : 0 }
        func claimedBytes(asOf ms: Int64) -> UInt64 {
            let bytes = samples.last { $0.ms <= ms }?.bytes ?? baselineBytes
            return bytes >= baselineBytes ? bytes - baselineBytes : 0
        }
    }

    struct State: Sendable {
        var replay = ReplayGuard<String>()
        var scores: RoutingScores
        var pins: [String: Pin] = [:]
        var coverage: [ObjectIdentifier: Coverage] = [:]
        var holds: [Key: (first: UInt64, last: UInt64)] = [:]
        var bitrates: [String: UInt64] = [:]
        /// Live watches the validator runs per node, with when it said so: players at the node
        /// that are not viewers (left out of its claims for a while).
        var watching: [String: (count: Int, atMs: Int64)] = [:]
        var tallies: [Key: (periodStartMs: Int64, tally: ProbeTally)] = [:]
        var claims: [Key: ClaimWindow] = [:]
        var redirects: [String: [(ms: Int64, ip: String)]] = [:]
        var stored: UInt64 = 0
        var duplicates: UInt64 = 0
        var replayed: UInt64 = 0
        var probeRedirects: UInt64 = 0
    }

    public init(store: CoordinatorStore, sessions: NodeSessions?, configuration: Configuration = Configuration(),
                heartbeatIntervalMs: Int64 = 5000, clockMs: @escaping @Sendable () -> Int64 = CoordinatorStore.nowMs,
                logger: Logger) throws {
        self.store = store; self.sessions = sessions; self.configuration = configuration
        self.onlineWindowMs = 3 * heartbeatIntervalMs; self.clockMs = clockMs; self.logger = logger
        var initial = State(scores: RoutingScores(configuration: configuration.routing))
        initial.replay = ReplayGuard(lastAccepted: ["validator": try store.lastReportID()])
        state = NIOLockedValueBox(initial)
        try restore()
    }

    static let validatorKey = "validator"

    /// Scores and this period's tallies from the stored checks (a restart forgets nothing that counts).
    private func restore() throws {
        let now = clockMs()
        let periods = try periodLengths()
        let scoreFrom = now - 2 * configuration.routing.alteredHoldMs
        let longest = periods.values.max() ?? 3_600_000
        let checks = try store.checksInOrder(sinceMs: min(scoreFrom, now - longest))
        state.withLockedValue { s in
            for check in checks {
                guard let outcome = Self.outcome(of: check) else { continue }
                if check.checkedMs >= scoreFrom { s.scores.record(outcome) }
                if let length = periods[check.stream] {
                    let start = Self.periodStart(now, lengthMs: length)
                    if check.checkedMs >= start { Self.tally(&s, outcome, periodStartMs: start) }
                }
            }
        }
    }

    /// Periods are aligned to multiples of their length since the epoch (as the earnings engine's).
    static func periodStart(_ ms: Int64, lengthMs: Int64) -> Int64 {
        guard lengthMs > 0 else { return ms }
        return ms - ((ms % lengthMs) + lengthMs) % lengthMs
    }

    func periodLengths() throws -> [String: Int64] {
        Dictionary(try store.streams().map { ($0.name, $0.periodSeconds * 1000) }, uniquingKeysWith: { a, _ in a })
    }

    static func outcome(of check: CheckRecord) -> ProbeOutcome? {
        guard let kind = ProbeKind(rawValue: check.kind), let verdict = Verdict(rawValue: check.verdict) else { return nil }
        return ProbeOutcome(node: Validation.NodeID(check.nodeID), stream: check.stream, kind: kind, chunkSeq: check.chunkSeq,
                            verdict: verdict, reason: Reason(rawValue: check.reason), ttfbMs: check.ttfbMs.map { Int($0) },
                            throughputBps: check.throughputBps.map { UInt64(max(0, $0)) }, bytes: Int(check.bytes), atMs: check.checkedMs)
    }

    private static func tally(_ s: inout State, _ o: ProbeOutcome, periodStartMs: Int64) {
        let key = Key(node: o.node.rawValue, stream: o.stream)
        var entry = s.tallies[key] ?? (periodStartMs, ProbeTally())
        if entry.periodStartMs != periodStartMs { entry = (periodStartMs, ProbeTally()) }
        entry.tally.add(o)
        s.tallies[key] = entry
    }

    // MARK: - Reports

    /// Stores one result and answers only once it is committed: "stored" (with any flag it
    /// raised), or "duplicate" for an id already held (a retry). An id at or below the last
    /// one accepted that is not held is a replay: refused (REPLAYED), nothing stored.
    public func report(_ r: SpotCheckReport) throws -> AdminResponse {
        guard r.reportID > 0, r.reportID <= UInt64(Int64.max) else {
            throw ErrorMessage(.invalidArgument, "report_id must be between 1 and 2^63-1, got \(r.reportID)")
        }
        guard let kind = ProbeKind(rawValue: r.kind) else { throw ErrorMessage(.invalidArgument, "unknown check kind `\(r.kind)`") }
        guard let verdict = Verdict(rawValue: r.verdict) else { throw ErrorMessage(.invalidArgument, "unknown verdict `\(r.verdict)`") }
        guard (verdict == .passed) == r.passed else {
            throw ErrorMessage(.invalidArgument, "passed=\(r.passed) contradicts verdict `\(r.verdict)`")
        }
        guard !r.reason.isEmpty, r.reason.utf8.count <= 64 else { throw ErrorMessage(.invalidArgument, "a reason is 1 to 64 bytes") }
        _ = try store.node(id: r.nodeID)
        let stream = try store.stream(named: r.stream)
        let last = state.withLockedValue { $0.replay.lastAccepted[Self.validatorKey] ?? 0 }
        if r.reportID <= last {
            if try storedReport(r.reportID) { return answer(r.reportID, "duplicate") }
            state.withLockedValue { $0.replayed += 1 }
            logger.warning("spot check report \(r.reportID) refused: not after \(last) and not stored (a replay)", metadata: [
                "event": "report_replayed", "node": "\(r.nodeID)", "stream": "\(r.stream)"])
            throw ErrorMessage(.replayed, "report \(r.reportID) is not after \(last) and is not stored: replayed reports are refused")
        }
        let now = clockMs()
        let checked = r.checkedUnixMs > 0 ? Int64(clamping: r.checkedUnixMs) : now
        let record = CheckRecord(reportID: r.reportID, nodeID: r.nodeID, stream: r.stream, chainID: r.chainID,
                                 chunkSeq: r.chunkSeq == 0 ? nil : r.chunkSeq, kind: kind.rawValue, passed: r.passed,
                                 verdict: verdict.rawValue, reason: r.reason,
                                 ttfbMs: r.bytes > 0 ? Int64(r.latencyMs) : nil,
                                 throughputBps: r.bytes > 0 ? Int64(clamping: r.throughputBps) : nil,
                                 bytes: Int64(clamping: r.bytes), viaWatch: r.viaWatch, checkedMs: checked, receivedMs: now)
        let periodStart = Self.periodStart(checked, lengthMs: stream.periodSeconds * 1000)
        let outcome = try store.recordCheck(record) { db in
            try self.flags(for: record, verdict: verdict, periodStartMs: periodStart, in: db)
        }
        guard case .stored(let flags) = outcome else { return answer(r.reportID, "duplicate") }
        if let o = Self.outcome(of: record) {
            state.withLockedValue { s in
                _ = s.replay.admit(r.reportID, from: Self.validatorKey)
                s.scores.record(o)
                s.stored += 1
                let current = Self.periodStart(now, lengthMs: stream.periodSeconds * 1000)
                if periodStart == current { Self.tally(&s, o, periodStartMs: current) }
            }
        }
        for flag in flags {
            logger.warning("node \(flag.nodeID) flagged for fraud on \(flag.stream): \(flag.reason) (\(flag.evidence))", metadata: [
                "event": "fraud_flagged", "node": "\(flag.nodeID)", "stream": "\(flag.stream)", "reason": "\(flag.reason)",
                "flag": "\(flag.id)"])
        }
        return answer(r.reportID, "stored")
    }

    private func storedReport(_ id: UInt64) throws -> Bool {
        try store.db.queryOne("SELECT 1 FROM checks WHERE report_id = ?", Int64(bitPattern: id)) != nil
    }

    private func answer(_ id: UInt64, _ outcome: String) -> AdminResponse {
        if outcome == "duplicate" { state.withLockedValue { $0.duplicates += 1 } }
        return AdminResponse(columns: ["report_id", "outcome"], rows: [["\(id)", outcome]], types: [.integer, .text])
    }

    /// The flags the stored history proves once `check` is in: an altered response flags at
    /// once, stale data when repeated (FraudPolicy). Evidence from before a person cleared a
    /// flag of the same kind is not counted again; one open flag per kind and period is enough.
    private func flags(for check: CheckRecord, verdict: Verdict, periodStartMs: Int64, in db: Database) throws -> [NewFraudFlag] {
        let kind: FraudPolicy.FlagKind
        switch verdict {
        case .altered: kind = .altered
        case .stale: kind = .stale
        default: return []
        }
        if try store.hasFlag(node: check.nodeID, stream: check.stream, reason: kind.rawValue, sinceMs: periodStartMs, in: db) { return [] }
        let cleared = try store.lastClearedMs(node: check.nodeID, stream: check.stream, reason: kind.rawValue, in: db)
        let since = max(periodStartMs, (cleared ?? .min) &+ 1)
        var tally = ProbeTally()
        for row in try store.checkVerdicts(node: check.nodeID, stream: check.stream, sinceMs: since, in: db) {
            guard let k = ProbeKind(rawValue: row.kind), let v = Verdict(rawValue: row.verdict) else { continue }
            tally.add(ProbeOutcome(node: Validation.NodeID(check.nodeID), stream: check.stream, kind: k, verdict: v, reason: .ok, atMs: 0))
        }
        let period = FraudPolicy.NodePeriod(identity: Identity(node: Validation.NodeID(check.nodeID), machineID: "", address: "", enrolledAtMs: 0),
                                            tally: tally, claims: .init(), uptimeMs: 0)
        var policy = configuration.fraud
        policy.sybil = .off
        return FraudPolicy(configuration: policy).assess([period]).flatMap(\.flags).filter { $0.kind == kind }.map { flag in
            let chunk = check.chunkSeq.map { " chunk \(String(check.chainID, radix: 16))-\($0)" } ?? ""
            return NewFraudFlag(reason: kind.rawValue,
                                evidence: "\(flag.detail); report \(check.reportID): \(check.kind)\(chunk) \(check.reason)")
        }
    }

    // MARK: - Targets, coverage, pins

    /// `validator targets [checking=true|false] [bitrates=S=BPS,...] [watching=NODE=N,...]`: the nodes to check now —
    /// online, not paused, relaying at least one stream — with the address the coordinator sees
    /// on each node's mutual-TLS session (never a URL the node reports), its viewer port and,
    /// per stream, the first chunk it can be expected to hold. It is also the validator's
    /// keepalive: while it says `checking=true`, the time is covered.
    public func targets(_ request: AdminRequest, connection: RPCConnection?) throws -> AdminResponse {
        let checking = request[argument: "checking"] == "true"
        var bitrates: [String: UInt64] = [:]
        for pair in (request[argument: "bitrates"] ?? "").split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let bps = UInt64(parts[1]) else {
                throw ErrorMessage(.invalidArgument, "`bitrates` is stream=bps,..., got `\(pair)`")
            }
            bitrates[String(parts[0])] = bps
        }
        var watching: [String: Int] = [:]
        for pair in (request[argument: "watching"] ?? "").split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let n = Int(parts[1]), n >= 0 else {
                throw ErrorMessage(.invalidArgument, "`watching` is node=count,..., got `\(pair)`")
            }
            watching[String(parts[0])] = n
        }
        if let connection { try alive(connection, checking: checking) }
        let now = clockMs()
        state.withLockedValue { s in
            for (node, n) in watching { s.watching[node] = (max(n, s.watching[node].map { now - $0.atMs < 3000 ? $0.count : 0 } ?? 0), now) }
        }
        let live = (sessions?.live() ?? []).filter { now - $0.receivedMs <= onlineWindowMs && !$0.heartbeat.paused }
        let rows: [[String]] = state.withLockedValue { s in
            for (stream, bps) in bitrates { s.bitrates[stream] = bps }
            var rows: [[String]] = []
            for l in live.sorted(by: { $0.node < $1.node }) {
                guard let ip = l.remoteIP, ip != "local" else { continue }
                let held = Int(l.heartbeat.bufferHealthMs / 2000)
                var streams: [String] = []
                for c in l.heartbeat.streams {
                    let key = Key(node: l.node, stream: c.stream)
                    var h = s.holds[key] ?? (c.lastChunkSeq, c.lastChunkSeq)
                    // A new chain starts again from 1; the first chunk seen is held whole.
                    if c.lastChunkSeq < h.last || h.first == 0 { h = (c.lastChunkSeq, c.lastChunkSeq) }
                    h.last = c.lastChunkSeq
                    s.holds[key] = h
                    // The node holds `held` sealed chunks before its open one; the two oldest may be
                    // evicted while a probe is on its way (the validator's own view of the live
                    // edge may lag, e.g. right after it restarted, so the margin is kept here too).
                    let byBuffer = held > 0 && c.lastChunkSeq > UInt64(held) ? c.lastChunkSeq - UInt64(held) + 2 : 0
                    streams.append("\(c.stream):\(max(h.first, byBuffer))")
                }
                guard !streams.isEmpty else { continue }
                let port = l.heartbeat.viewerPort == 0 ? 8935 : Int(l.heartbeat.viewerPort)
                rows.append([l.node, ip, "\(port)", streams.joined(separator: ",")])
            }
            return rows
        }
        let last = state.withLockedValue { $0.replay.lastAccepted[Self.validatorKey] ?? 0 }
        return AdminResponse(columns: ["node_id", "address", "viewer_port", "streams"], rows: rows,
                             message: "last_report_id=\(last)", types: [.text, .text, .integer, .text])
    }

    /// The validator on `connection` is there (and checking, or not): coverage intervals follow.
    func alive(_ connection: RPCConnection, checking: Bool) throws {
        let key = ObjectIdentifier(connection)
        let now = clockMs()
        let (isNew, current) = state.withLockedValue { s -> (Bool, Coverage?) in
            let existing = s.coverage[key]
            return (existing == nil, existing)
        }
        if isNew {
            connection.onClose { [self] in
                let gone = state.withLockedValue { $0.coverage.removeValue(forKey: key) }
                if let id = gone?.intervalID {
                    logger.notice("the validator disconnected: coverage interval \(id) ends", metadata: [
                        "event": "validator_coverage_ended", "reason": "disconnected"])
                }
            }
        }
        var coverage = current ?? Coverage(intervalID: nil, lastMs: now)
        if checking {
            if let id = coverage.intervalID {
                try store.extendCoverage(id: id, toMs: now)
            } else {
                coverage.intervalID = try store.startCoverage(atMs: now)
                logger.notice("the validator is checking: coverage interval \(coverage.intervalID ?? 0) begins", metadata: [
                    "event": "validator_coverage_started"])
            }
        } else if let id = coverage.intervalID {
            try store.extendCoverage(id: id, toMs: now)
            coverage.intervalID = nil
            logger.notice("the validator stopped checking: coverage interval \(id) ends", metadata: [
                "event": "validator_coverage_ended", "reason": "not_checking"])
        }
        coverage.lastMs = now
        let stored = coverage
        state.withLockedValue { $0.coverage[key] = stored }
        // Closed meanwhile: its close handler may have run before this entry was stored.
        if connection.isClosed { state.withLockedValue { _ = $0.coverage.removeValue(forKey: key) } }
    }

    /// Whether a validator is connected, and checking.
    public var validatorState: (connected: Bool, checking: Bool) {
        state.withLockedValue { s in (!s.coverage.isEmpty, s.coverage.values.contains { $0.intervalID != nil }) }
    }

    /// `validator pin node=N stream=S format=flv|hls`: a token good for one `/watch` request within
    /// `pinLifetimeMs`, routed to that node if it is a candidate (else routed as usual).
    public func pin(_ request: AdminRequest) throws -> AdminResponse {
        guard let node = request[argument: "node"], let stream = request[argument: "stream"] else {
            throw ErrorMessage(.invalidArgument, "validator pin takes node= and stream=")
        }
        let format = request[argument: "format"] ?? "flv"
        var rng = SystemRandomNumberGenerator()
        let token = (0..<16).map { _ in String(UInt8.random(in: 0...255, using: &rng), radix: 16).leftPadded(2) }.joined()
        let now = clockMs()
        state.withLockedValue { s in
            s.pins = s.pins.filter { $0.value.expiresMs > now }
            if s.pins.count < 10_000 { s.pins[token] = Pin(node: node, stream: stream, format: format, expiresMs: now + configuration.pinLifetimeMs) }
        }
        return AdminResponse(columns: ["pin"], rows: [[token]])
    }

    /// The node a `/watch` request's pin names (once: the pin is spent), if it is for this stream and format.
    public func takePin(_ token: String, stream: String, format: String) -> String? {
        let now = clockMs()
        return state.withLockedValue { s -> String? in
            guard let pin = s.pins.removeValue(forKey: token), pin.expiresMs > now, pin.stream == stream, pin.format == format else { return nil }
            s.probeRedirects += 1
            return pin.node
        }
    }

    /// A viewer (not a probe) was sent to `node` by `/watch` from `client`: the claims' evidence.
    public func recordRedirect(node: String, client: String?) {
        let now = clockMs()
        state.withLockedValue { s in
            var list = s.redirects[node] ?? []
            list.append((now, client ?? ""))
            if list.count > 10_000 { list.removeFirst(list.count - 10_000) }
            s.redirects[node] = list
        }
    }

    /// The node's routing score now, in 0...1 (1 for a node never checked).
    public func score(node: String, nowMs: Int64? = nil) -> Double {
        let now = nowMs ?? clockMs()
        return state.withLockedValue { Double($0.scores.ppm(Validation.NodeID(node), nowMs: now)) / 1_000_000 }
    }

    /// A person cleared `flag`: an altered hold on the node's score goes with it.
    func forgive(_ flag: FraudFlagRecord) {
        guard flag.reason == FraudPolicy.FlagKind.altered.rawValue else { return }
        state.withLockedValue { $0.scores.forget(Validation.NodeID(flag.nodeID)) }
    }

    /// This period's claims for `node` as counted (viewers, bytes) beside what it claimed.
    public func counted(node: String) -> [(stream: String, claimedBytes: UInt64, countedBytes: UInt64?, peakViewers: UInt32,
                                           countedViewers: UInt32?, viewersSent: UInt32)] {
        state.withLockedValue { s in
            s.claims.filter { $0.key.node == node }.sorted { $0.key.stream < $1.key.stream }.map {
                ($0.key.stream, $0.value.judgedBytes ?? $0.value.claimedBytes, $0.value.countedBytes, $0.value.peakViewers,
                 $0.value.countedViewers, $0.value.viewersSent)
            }
        }
    }

    public var counts: (stored: UInt64, duplicates: UInt64, replayed: UInt64, probeRedirects: UInt64) {
        state.withLockedValue { ($0.stored, $0.duplicates, $0.replayed, $0.probeRedirects) }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
