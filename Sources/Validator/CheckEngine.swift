import Logging
import StreamrConfig
import NIOConcurrencyHelpers
import StreamrWire
import Validation

/// The validator's loop: `Validation.SpotChecker` decides when each node is checked and what
/// is fetched (with the system's randomness: nodes cannot predict either); this carries the
/// probes out as a player would (`ProbeHTTP`, the planned headers, straight to the address
/// the coordinator saw on the node's session, or through `/watch` with a one-time pin), gets
/// the reference from the `SealBook` (bytes and digests from the ingest, never from a node),
/// judges with `OutcomeEvaluator`, logs a failure to the journal and queues the result for
/// the coordinator. A probe whose reference is missing (bytes not fetched, a chain change in
/// flight) is dropped unjudged: the validator never blames a node for what it does not know.
public final class CheckEngine: Sendable {
    public struct Configuration: Sendable {
        public var schedule = CheckScheduler.Configuration()
        public var planning = ProbePlanner.Configuration()
        /// The coordinator's viewer HTTP, for probes through `/watch` (host, port).
        public var coordinatorHTTP: (host: String, port: Int) = ("127.0.0.1", 8000)
        public var maxConcurrentProbes = 64
        /// A stream is live while its last seal is at most this old.
        public var liveWithinMs: Int64 = 15_000
        /// Live watches are judged against this many chunks before the live edge, all held.
        public var liveReferenceChunks: UInt64 = 20
        public init() {}
    }

    public struct Stats: Sendable {
        public var probes: UInt64 = 0
        public var verdicts: [Verdict: UInt64] = [:]
        /// Through `/watch` but sent to another node (or not sent on): a routing probe, not a check.
        public var routed: UInt64 = 0
        /// Not judged: no reference (bytes not fetched, headers unknown, a chain change).
        public var unjudged: UInt64 = 0
        /// Due while `maxConcurrentProbes` were running: skipped.
        public var skipped: UInt64 = 0
        public var running = 0
        public var targets = 0
    }

    let book: SealBook
    let fetcher: ReferenceFetcher
    let store: ValidatorStore
    let logger: Logger
    let configuration: Configuration
    /// Set once the client is built (it needs the engine's status): pins and result notices.
    private let client = NIOLockedValueBox<CoordinatorClient?>(nil)
    private let checker = NIOLockedValueBox<SpotChecker?>(nil)
    private let stats = NIOLockedValueBox(Stats())
    private let clock = NIOLockedValueBox(Int64(0))
    private let relayedStreams = NIOLockedValueBox(Set<String>())
    /// Live FLV watches running per node now: they are players at the node, so its viewer count
    /// includes them (the coordinator leaves them out of its claims).
    private let watching = NIOLockedValueBox([String: Int]())

    public init(book: SealBook, fetcher: ReferenceFetcher, store: ValidatorStore, configuration: Configuration, logger: Logger) {
        self.book = book; self.fetcher = fetcher; self.store = store; self.configuration = configuration; self.logger = logger
    }

    public func attach(_ client: CoordinatorClient) { self.client.withLockedValue { $0 = client } }

    public var statistics: Stats { stats.withLockedValue { $0 } }

    /// Wall-clock ms, never going back (the scheduler's clock must not).
    func nowMs() -> Int64 {
        let wall = ProbeHTTP.wallMs()
        return clock.withLockedValue { last in last = max(last, wall); return last }
    }

    // MARK: - Targets and status

    /// The coordinator's targets: the nodes that may be checked now.
    public func setTargets(_ targets: CoordinatorClient.Targets) {
        let now = nowMs()
        checker.withLockedValue { checker in
            var rng = SystemRandomNumberGenerator()
            if checker == nil {
                var planning = configuration.planning
                if let origin = targets.pageOrigin, origin.hasPrefix("http") { planning.pageOrigin = origin }
                checker = SpotChecker(schedule: configuration.schedule, planning: planning)
            }
            checker!.setNodes(targets.nodes, nowMs: now, using: &rng)
        }
        relayedStreams.withLockedValue { $0 = Set(targets.nodes.flatMap { $0.relayed.map(\.stream) }) }
        stats.withLockedValue { $0.targets = targets.nodes.count }
    }

    /// Checking: every stream a node relays has a current reference (a seal lately). Sent with
    /// each targets request; the coordinator counts the time as covered while it is true.
    public func currentStatus() -> (checking: Bool, bitrates: [String: UInt64], watching: [String: Int]) {
        let now = nowMs()
        let references = book.references(nowMs: now, liveWithinMs: configuration.liveWithinMs)
        let relayed = relayedStreams.withLockedValue { $0 }
        let checking = relayed.allSatisfy { references[$0]?.isLive == true }
        return (checking, references.compactMapValues { $0.isLive ? $0.bitrateBps : nil }, watching.withLockedValue { $0 })
    }

    // MARK: - The loop

    /// Runs until cancelled; probes are child tasks of this one.
    public func run() async {
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled {
                let now = nowMs()
                let references = book.references(nowMs: now, liveWithinMs: configuration.liveWithinMs)
                let (probes, wake) = checker.withLockedValue { checker -> ([PlannedProbe], Int64?) in
                    guard checker != nil else { return ([], nil) }
                    var rng = SystemRandomNumberGenerator()
                    let due = checker!.next(nowMs: now, streams: references, using: &rng)
                    return (due, checker!.nextWakeMs)
                }
                for probe in probes {
                    let start = stats.withLockedValue { s -> Bool in
                        guard s.running < configuration.maxConcurrentProbes else { s.skipped += 1; return false }
                        s.running += 1
                        return true
                    }
                    guard start else { continue }
                    group.addTask {
                        await self.execute(probe)
                        self.stats.withLockedValue { $0.running -= 1 }
                    }
                }
                let sleepMs = min(1000, max(5, (wake ?? now + 1000) - now))
                try? await Task.sleep(for: .milliseconds(sleepMs))
            }
        }
    }

    // MARK: - One probe

    func execute(_ plan: PlannedProbe) async {
        stats.withLockedValue { $0.probes += 1 }
        var viaWatch = false
        var path = plan.path
        if case .watch(let watchPath) = plan.route {
            guard let followed = await throughWatch(plan, watchPath: watchPath) else { return }
            path = followed
            viaWatch = true
        }
        switch plan.kind {
        case .range, .chunk: await chunkProbe(plan, path: path, viaWatch: viaWatch)
        case .liveFLV: await liveProbe(plan, path: path, viaWatch: viaWatch)
        case .hls: await hlsProbe(plan, path: path, viaWatch: viaWatch)
        }
    }

    /// The request to the node for `path`, with the plan's headers for `fetch`.
    func request(_ plan: PlannedProbe, path: String, fetch: ClientProfile.Fetch? = nil, totalMs: Int? = nil,
                 digest: Bool = false, readLimit: (@Sendable (Int) -> Int)? = nil) -> ProbeRequest {
        let p = plan
        return ProbeRequest(host: plan.host, port: plan.port, path: path, headers: plan.headers(for: fetch, host: plan.authority),
                            connectMs: plan.limits.connectMs, firstByteMs: plan.limits.firstByteMs, totalMs: totalMs ?? plan.limits.totalMs,
                            watchMs: plan.kind == .liveFLV ? plan.watchMs : nil, digest: digest,
                            readLimit: readLimit ?? { p.readLimit(status: $0) })
    }

    /// The `/watch` hop: a pin for this node, the request a player makes at the coordinator, and
    /// its redirect. Returns the path at the node when the redirect goes to the node's session
    /// address and viewer port; otherwise the probe was a routing probe (the coordinator sent
    /// the viewer elsewhere: the node was full, paused, gone, or its viewer_url names another
    /// address): logged, not judged, no one's fault.
    func throughWatch(_ plan: PlannedProbe, watchPath: String) async -> String? {
        let format = plan.kind == .hls ? "hls" : "flv"
        let coordinator = configuration.coordinatorHTTP
        guard let pin = await client.withLockedValue({ $0 })?.pin(node: plan.node.rawValue, stream: plan.stream, format: format) else {
            routed(plan, "no pin from the coordinator (not connected?)")
            return nil
        }
        let authority = coordinator.host.contains(":") ? "[\(coordinator.host)]:\(coordinator.port)" : "\(coordinator.host):\(coordinator.port)"
        let hop = await ProbeHTTP.fetch(ProbeRequest(host: coordinator.host, port: coordinator.port, path: watchPath + "&pin=" + pin,
                                                     headers: plan.headers(for: plan.fetch, host: authority),
                                                     connectMs: plan.limits.connectMs, firstByteMs: plan.limits.firstByteMs,
                                                     totalMs: plan.limits.firstByteMs, readLimit: { _ in 4096 }))
        guard let status = hop.status, [301, 302, 303, 307, 308].contains(status), let location = hop.headers.value(of: "Location"),
              let to = Self.parseLocation(location) else {
            routed(plan, "/watch answered \(hop.status.map { "\($0)" } ?? hop.error?.rawValue ?? "nothing") without a redirect")
            return nil
        }
        guard to.host == plan.host, to.port == plan.port else {
            routed(plan, "/watch sent the probe to \(to.host):\(to.port), not the node's session address \(plan.authority)")
            return nil
        }
        return to.path
    }

    private func routed(_ plan: PlannedProbe, _ why: String) {
        stats.withLockedValue { $0.routed += 1 }
        logger.info("routing probe for node \(plan.node) on \(plan.stream): \(why) (not a check of the node)", metadata: [
            "event": "watch_probe_routed", "node": "\(plan.node)", "stream": "\(plan.stream)"])
    }

    /// "http://host:port/path" (IPv6 host in brackets) into its parts.
    static func parseLocation(_ text: String) -> (host: String, port: Int, path: String)? {
        guard text.hasPrefix("http://") else { return nil }
        let rest = text.dropFirst(7)
        let authority = rest.prefix { $0 != "/" }
        let path = String(rest.dropFirst(authority.count))
        var host: Substring, port = 80
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") { guard let p = Int(after.dropFirst()) else { return nil }; port = p }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            guard let p = Int(authority[authority.index(after: colon)...]) else { return nil }
            port = p
        } else {
            host = authority
        }
        return (String(host), port, path.isEmpty ? "/" : path)
    }

    func chunkProbe(_ plan: PlannedProbe, path: String, viaWatch: Bool) async {
        guard let chain = plan.chainID, let seq = plan.chunkSeq, let seal = book.seal(stream: plan.stream, chainID: chain, seq: seq) else {
            return unjudged(plan, "no seal")
        }
        let reference: ProbeReference
        if plan.kind == .range {
            guard let range = plan.range, let bytes = book.bytes(stream: plan.stream, chainID: chain, seq: seq), range.end <= bytes.count else {
                return unjudged(plan, "chunk bytes not held")
            }
            reference = .bytes(bytes[range.offset..<range.end])
        } else {
            reference = .chunk(digest: seal.sha256, size: Int(clamping: seal.size))
        }
        let o = await ProbeHTTP.fetch(request(plan, path: path, digest: plan.kind == .chunk))
        finish(plan, OutcomeEvaluator.evaluate(plan, o, reference: reference, atMs: nowMs()), viaWatch: viaWatch, sent: Self.bytesSent(o))
    }

    func liveProbe(_ plan: PlannedProbe, path: String, viaWatch: Bool) async {
        guard let chain = plan.chainID, let edge = plan.liveEdgeSeq else { return unjudged(plan, "no live edge") }
        if (book.headersAgeMs(stream: plan.stream, nowMs: nowMs()) ?? .max) > 10_000 { await fetcher.refreshHeaders(plan.stream) }
        let node = plan.node.rawValue
        watching.withLockedValue { $0[node, default: 0] += 1 }
        let o = await ProbeHTTP.fetch(request(plan, path: path))
        watching.withLockedValue { w in w[node, default: 1] -= 1; if w[node] == 0 { w[node] = nil } }
        // Judged once a chunk sealed after the watch's end is held: every tag it got is then in a
        // sealed chunk, so a tag found nowhere is evidence.
        let endMs = (o.startedAtMs ?? nowMs()) + Int64(o.totalMs)
        let chunkMs = Int64(max(500, plan.limits.totalMs - (plan.watchMs ?? 0)))
        let deadline = nowMs() + max(8_000, 3 * chunkMs)
        let from = edge > configuration.liveReferenceChunks ? edge - configuration.liveReferenceChunks : 1
        while !Task.isCancelled {
            guard book.current(stream: plan.stream)?.chainID == chain else { return unjudged(plan, "the chain changed during the watch") }
            // Judged only once settled: unsettled, tags after the last one found would be
            // passed over unseen (a node could hide altered tags there) or missing seals would
            // make an honest watch look empty.
            if let held = book.liveReference(stream: plan.stream, chainID: chain, fromSeq: from), held.complete,
               held.reference.isSettled(watchEndedAtMs: endMs) {
                return finish(plan, OutcomeEvaluator.evaluate(plan, o, reference: .live(held.reference), atMs: nowMs()), viaWatch: viaWatch)
            }
            if nowMs() >= deadline { return unjudged(plan, "the reference did not cover the watch") }
            try? await Task.sleep(for: .milliseconds(250))
        }
        unjudged(plan, "stopping")
    }

    func hlsProbe(_ plan: PlannedProbe, path: String, viaWatch: Bool) async {
        guard let chain = plan.chainID else { return unjudged(plan, "no chain") }
        let started = nowMs()
        let playlist = await ProbeHTTP.fetch(request(plan, path: path, fetch: .playlist(first: true)))
        // A playlist may name a chunk whose seal has not reached the validator yet (its link to
        // the ingest lags, e.g. just after a restart): wait for the seal before calling it ahead.
        let listed = HLSPlaylistSummary.parse(playlist.body)?.segments.last?.chunk
        let waitUntil = nowMs() + 6000
        while let listed, listed.chainID == chain, let edge = book.current(stream: plan.stream)?.newestSeq,
              listed.seq > edge + 1, nowMs() < waitUntil, !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(250))
        }
        guard let current = book.current(stream: plan.stream), current.chainID == chain, let edge = current.newestSeq else {
            return unjudged(plan, "the chain changed")
        }
        var segment: HTTPObservation?
        if let status = playlist.status, (200..<300).contains(status), let summary = HLSPlaylistSummary.parse(playlist.body),
           let segmentPath = plan.segmentPath(playlist: summary) {
            let left = max(1000, plan.limits.totalMs - Int(nowMs() - started))
            segment = await ProbeHTTP.fetch(request(plan, path: segmentPath, fetch: .segment, totalMs: left))
        }
        finish(plan, OutcomeEvaluator.evaluate(plan, playlist, segment: segment, reference: .hls(liveEdgeSeq: edge), atMs: nowMs()),
               viaWatch: viaWatch, sent: Self.bytesSent(playlist) + Self.bytesSent(segment))
    }

    private func unjudged(_ plan: PlannedProbe, _ why: String) {
        stats.withLockedValue { $0.unjudged += 1 }
        logger.debug("probe of node \(plan.node) on \(plan.stream) not judged: \(why)", metadata: [
            "event": "probe_unjudged", "node": "\(plan.node)", "stream": "\(plan.stream)"])
    }

    /// Body bytes the node was asked for and sent: what was read, or what the response said it
    /// carries when the probe stopped reading earlier (a seeking player asks from an offset to
    /// the end and reads what it needs; the node's meter counts all it handed over).
    static func bytesSent(_ o: HTTPObservation?) -> Int {
        guard let o else { return 0 }
        let declared = o.headers.value(of: "Content-Length").flatMap { Int($0.trimmingWhitespace()) } ?? 0
        return max(o.bodyBytes, declared)
    }

    /// Logs the result and queues it for the coordinator (kept in validator.db until answered).
    func finish(_ plan: PlannedProbe, _ o: ProbeOutcome, viaWatch: Bool, sent: Int? = nil) {
        var o = o
        if let sent { o.bytes = max(o.bytes, sent) }
        stats.withLockedValue { $0.verdicts[o.verdict, default: 0] += 1 }
        let report = SpotCheckReport(nodeID: o.node.rawValue, stream: o.stream, chunkSeq: o.chunkSeq ?? 0, passed: o.passed,
                                     reason: o.reason.rawValue, latencyMs: UInt32(clamping: o.ttfbMs ?? 0),
                                     throughputBps: o.throughputBps ?? 0, checkedUnixMs: UInt64(max(0, o.atMs)), kind: o.kind.rawValue,
                                     chainID: plan.chainID ?? 0, bytes: UInt64(max(0, o.bytes)), verdict: o.verdict.rawValue,
                                     viaWatch: viaWatch)
        let chunk = o.chunkSeq.map { " chunk \(String(plan.chainID ?? 0, radix: 16))-\($0)" } ?? ""
        var metadata: Logger.Metadata = ["node": "\(o.node)", "stream": "\(o.stream)", "reason": "\(o.reason)",
                                         "verdict": "\(o.verdict.rawValue)", "kind": "\(o.kind.rawValue)",
                                         "client": "\(plan.client)", "route": "\(viaWatch ? "watch" : "direct")"]
        if let seq = o.chunkSeq { metadata["chunk"] = "\(String(plan.chainID ?? 0, radix: 16))-\(seq)" }
        if o.passed {
            metadata["event"] = "spot_check_passed"
            logger.debug("spot check of node \(o.node) on \(o.stream) passed: \(o.kind.rawValue)\(chunk)", metadata: metadata)
        } else {
            metadata["event"] = "spot_check_failed"
            logger.warning("spot check of node \(o.node) on \(o.stream) \(o.verdict.rawValue): \(o.reason) (\(o.kind.rawValue)\(chunk), via \(viaWatch ? "/watch" : "its address"))",
                           metadata: metadata)
        }
        do {
            _ = try store.enqueue(report, nowMs: nowMs())
            client.withLockedValue { $0 }?.notify()
        } catch {
            logger.error("cannot queue a spot check result: \(error)", metadata: ["event": "report_queue_failed", "node": "\(o.node)"])
        }
    }
}
