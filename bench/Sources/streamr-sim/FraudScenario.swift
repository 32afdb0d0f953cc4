import Validation

/// Nodes of every behaviour, probed for `periods` hours by the real SpotChecker (scheduler and
/// planner), OutcomeEvaluator, FraudPolicy and RoutingScores; only the network is simulated.
struct FraudScenario {
    struct Row {
        var nodePeriods = 0
        var checksMin = Int.max, checksMax = 0, checks = 0
        var passed = 0
        var passedMax = 0
        var fraudFlagged = 0
        var flaggedAltered = 0
        var sybil = 0
        var capped = 0
        var scorePPM = 0
    }

    let periods: Int
    var rng: SeededRandom
    var stream = SimStream()
    var checker = SpotChecker()
    var nodes: [SimNode] = []
    var index: [NodeID: Int] = [:]
    var tallies: [NodeID: ProbeTally] = [:]
    var scores = RoutingScores()
    var pendingLive: [(dueMs: Int64, plan: PlannedProbe)] = []
    var rows: [Behaviour: Row] = [:]
    var probeBytes = 0, probes = 0
    var kindCounts: [ProbeKind: Int] = [:]
    var alteredReasons: [Reason: Int] = [:]

    static let mix: [(Behaviour, Double)] = [
        (.honest, 0.70), (.altering, 0.15), (.fakeUptime, 0.05), (.stale, 0.03), (.inflating, 0.03),
        (.selfViewing, 0.01), (.sybil, 0.03),
    ]

    init(nodes count: Int, periods: Int, seed: UInt64) {
        self.periods = periods
        rng = SeededRandom(seed: seed)
        var behaviours: [Behaviour] = []
        for (b, share) in Self.mix { behaviours += Array(repeating: b, count: Int(Double(count) * share + 0.5)) }
        while behaviours.count < count { behaviours.append(.honest) }
        for (i, b) in behaviours.prefix(count).enumerated() {
            let id = NodeID("node-\(i)")
            // Sybils come in threes: one machine, one address.
            let group = b == .sybil ? i - i % 3 : i
            let identity = Identity(node: id, machineID: "machine-\(group)", address: "10.\(group >> 16 & 255).\(group >> 8 & 255).\(group & 255)",
                                    enrolledAtMs: Int64(i) * 1000)
            nodes.append(SimNode(id: id, behaviour: b, identity: identity,
                                 throughputBps: UInt64.random(in: 20_000_000...200_000_000, using: &rng),
                                 baseTTFBMs: Int.random(in: 10...60, using: &rng), viewers: UInt32.random(in: 0...8, using: &rng)))
            index[id] = i
        }
        let targets = nodes.map { NodeTarget(id: $0.id, host: $0.identity.address, relayed: [.init(stream: "main")]) }
        checker.setNodes(targets, nowMs: 0, using: &rng)
    }

    mutating func run() {
        var now: Int64 = 0
        var nextSeal = SimStream.sealTime(1)
        for period in 0..<periods {
            let end = Int64(period + 1) * 3_600_000
            while now < end {
                while nextSeal <= now {
                    stream.sealNext(using: &rng)
                    nextSeal += SimStream.chunkMs
                }
                finishWatches(upTo: now)
                let references = [stream.name: stream.reference]
                for plan in checker.next(nowMs: now, streams: references, using: &rng) { start(plan, now: now) }
                var next = min(end, nextSeal, checker.nextWakeMs ?? end)
                if let due = pendingLive.map(\.dueMs).min() { next = min(next, due) }
                now = max(now + 1, next)
            }
            closePeriod(endMs: end)
        }
    }

    private mutating func start(_ plan: PlannedProbe, now: Int64) {
        kindCounts[plan.kind, default: 0] += 1
        let node = nodes[index[plan.node]!]
        switch plan.kind {
        case .liveFLV:
            // Judged once the chunk open at the watch's end is sealed.
            pendingLive.append((plan.plannedAtMs + Int64(plan.watchMs ?? 0) + 2 * SimStream.chunkMs, plan))
        case .range:
            let (o, _) = node.answer(plan, stream: stream, rng: &rng)
            let r = plan.range!
            record(OutcomeEvaluator.evaluate(plan, o, reference: .bytes(stream.bytes[plan.chunkSeq!]![r.offset..<r.end]), atMs: now))
        case .chunk:
            let (o, _) = node.answer(plan, stream: stream, rng: &rng)
            let reference = ProbeReference.chunk(digest: stream.digests[plan.chunkSeq!]!, size: plan.chunkSize!)
            record(OutcomeEvaluator.evaluate(plan, o, reference: reference, atMs: now))
        case .hls:
            let (o, segment) = node.answer(plan, stream: stream, rng: &rng)
            record(OutcomeEvaluator.evaluate(plan, o, segment: segment, reference: .hls(liveEdgeSeq: stream.newest), atMs: now))
        }
    }

    private mutating func finishWatches(upTo now: Int64) {
        var waiting: [(dueMs: Int64, plan: PlannedProbe)] = []
        for (due, plan) in pendingLive {
            guard due <= now else { waiting.append((due, plan)); continue }
            let o = nodes[index[plan.node]!].watch(plan, stream: stream, rng: &rng)
            record(OutcomeEvaluator.evaluate(plan, o, reference: .live(stream.live), atMs: now))
        }
        pendingLive = waiting
    }

    private mutating func record(_ o: ProbeOutcome) {
        tallies[o.node, default: ProbeTally()].add(o)
        scores.record(o)
        probes += 1
        probeBytes += o.bytes
        if o.verdict == .altered { alteredReasons[o.reason, default: 0] += 1 }
    }

    private mutating func closePeriod(endMs: Int64) {
        let bitrate = stream.reference.bitrateBps
        var periods: [FraudPolicy.NodePeriod] = []
        for node in nodes {
            let (claims, redirects) = node.claims(bitrateBps: bitrate, hours: 1, rng: &rng)
            periods.append(FraudPolicy.NodePeriod(identity: node.identity, tally: tallies[node.id] ?? ProbeTally(), claims: claims,
                                                  uptimeMs: 3_600_000, watchRedirects: redirects, bitrateBps: bitrate))
        }
        for a in FraudPolicy().assess(periods) {
            let node = nodes[index[a.node]!]
            var row = rows[node.behaviour, default: Row()]
            row.nodePeriods += 1
            row.checks += a.tally.checks
            row.checksMin = min(row.checksMin, a.tally.checks)
            row.checksMax = max(row.checksMax, a.tally.checks)
            row.passed += a.tally.passed
            row.passedMax = max(row.passedMax, a.tally.passed)
            if a.fraudFlagged { row.fraudFlagged += 1 }
            if a.flags.contains(where: { $0.kind == .altered }) { row.flaggedAltered += 1 }
            if a.flags.contains(where: { $0.kind == .sybil }) { row.sybil += 1 }
            if a.adjustments.contains(where: { $0.kind != .selfViewing || $0.claimed != $0.counted }) { row.capped += 1 }
            row.scorePPM += Int(scores.ppm(a.node, nowMs: endMs))
            rows[node.behaviour] = row
        }
        tallies = [:]
    }
}
