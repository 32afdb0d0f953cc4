/// The scheduler and the planner together: what a validator daemon's loop calls.
///
///     var checker = SpotChecker()
///     var rng = SystemRandomNumberGenerator()
///     checker.setNodes(coordinatorNodes, nowMs: now, using: &rng)     // on membership changes
///     for probe in checker.next(nowMs: now, streams: references, using: &rng) { start(probe) }
///     sleep until checker.nextWakeMs (or the next change)
public struct SpotChecker: Sendable {
    public private(set) var scheduler: CheckScheduler
    public let planner: ProbePlanner
    private var targets: [NodeID: NodeTarget] = [:]

    public init(schedule: CheckScheduler.Configuration = .init(), planning: ProbePlanner.Configuration = .init()) {
        scheduler = CheckScheduler(configuration: schedule)
        planner = ProbePlanner(configuration: planning)
    }

    /// The nodes that can be checked now: online, enabled, not paused. A node relaying no
    /// stream is not checked (nor owed checks) until it relays one.
    public mutating func setNodes(_ nodes: [NodeTarget], nowMs: Int64, using rng: inout some RandomNumberGenerator) {
        targets = Dictionary(nodes.filter { !$0.relayed.isEmpty }.map { ($0.id, $0) }, uniquingKeysWith: { $1 })
        scheduler.setOnline(targets.keys, nowMs: nowMs, using: &rng)
    }

    /// One node's address or streams changed (cheaper than `setNodes` for a single node).
    public mutating func updateNode(_ node: NodeTarget, nowMs: Int64, using rng: inout some RandomNumberGenerator) {
        if node.relayed.isEmpty {
            targets[node.id] = nil
            scheduler.nodeOffline(node.id, nowMs: nowMs, using: &rng)
        } else {
            targets[node.id] = node
            scheduler.nodeOnline(node.id, nowMs: nowMs, using: &rng)
        }
    }

    public mutating func removeNode(_ id: NodeID, nowMs: Int64, using rng: inout some RandomNumberGenerator) {
        targets[id] = nil
        scheduler.nodeOffline(id, nowMs: nowMs, using: &rng)
    }

    /// The probes due now. `streams` holds the validator's reference per stream name; a due
    /// node is probed on one of its relayed streams that has one, chosen uniformly.
    public mutating func next(nowMs: Int64, streams: [String: StreamReference],
                              using rng: inout some RandomNumberGenerator) -> [PlannedProbe] {
        scheduler.due(nowMs: nowMs, using: &rng).compactMap { id -> PlannedProbe? in
            guard let node = targets[id] else { return nil }
            let candidates = node.relayed.compactMap { streams[$0.stream] }
            guard !candidates.isEmpty else { return nil }
            let stream = candidates[Int.random(in: 0..<candidates.count, using: &rng)]
            return planner.plan(node: node, stream: stream, nowMs: nowMs, using: &rng)
        }
    }

    public var nextWakeMs: Int64? { scheduler.nextWakeMs }
}
