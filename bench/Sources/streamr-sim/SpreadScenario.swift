import Validation

/// How evenly the real CheckScheduler spreads its budget: checks per node over one hour.
enum SpreadScenario {
    struct Result {
        var min: Int
        var mean: Double
        var max: Int
        var checkedWhileOffline = 0
        var met: Bool { min >= 1 && Double(max) <= 2 * mean }
    }

    /// `nodes` online all hour (or, with `churn`, that share of them flapping: online for an
    /// exponential 15 min on average, then offline for 5; counted per online hour).
    static func run(_ config: CheckScheduler.Configuration, nodes count: Int, seed: UInt64, churn: Double = 0) -> Result {
        var rng = SeededRandom(seed: seed)
        var s = CheckScheduler(configuration: config)
        let ids = (0..<count).map { NodeID("n\($0)") }
        let flapping = Set(ids.prefix(Int(Double(count) * churn)))
        s.setOnline(ids, nowMs: 0, using: &rng)
        var online = Set(ids)
        var onlineMs: [NodeID: Int64] = [:]
        var since: [NodeID: Int64] = Dictionary(uniqueKeysWithValues: ids.map { ($0, 0) })
        var flips: [(atMs: Int64, node: NodeID)] = flapping.sorted().map { (Int64(rng.exponential(rate: 1 / 900_000.0)), $0) }
        var counts: [NodeID: Int] = [:]
        var offlineChecks = 0
        let end: Int64 = 3_600_000
        var now: Int64 = 0
        while now <= end {
            flips.sort { $0.atMs < $1.atMs }
            while let flip = flips.first, flip.atMs <= now {
                flips.removeFirst()
                let id = flip.node
                if online.remove(id) != nil {
                    s.nodeOffline(id, nowMs: now, using: &rng)
                    onlineMs[id, default: 0] += now - since[id]!
                    flips.append((now + Int64(rng.exponential(rate: 1 / 300_000.0)), id))
                } else {
                    online.insert(id)
                    s.nodeOnline(id, nowMs: now, using: &rng)
                    since[id] = now
                    flips.append((now + Int64(rng.exponential(rate: 1 / 900_000.0)), id))
                }
            }
            for id in s.due(nowMs: now, using: &rng) {
                counts[id, default: 0] += 1
                if !online.contains(id) { offlineChecks += 1 }
            }
            var next = s.nextWakeMs ?? end + 1
            if let flip = flips.map(\.atMs).min() { next = min(next, flip) }
            now = max(now + 1, next)
        }
        for id in online { onlineMs[id, default: 0] += end - since[id]! }
        // Per online hour: a flapping node online 40 minutes is owed 2/3 of the budget.
        let measured = churn > 0 ? Array(flapping) : ids
        let perHour = measured.map { Double(counts[$0] ?? 0) * 3_600_000 / Double(max(1, onlineMs[$0] ?? 0)) }
        let raw = measured.map { counts[$0] ?? 0 }
        let mean = perHour.reduce(0, +) / Double(perHour.count)
        if churn > 0 {
            return Result(min: Int(perHour.min()!), mean: mean, max: Int(perHour.max()! + 0.999), checkedWhileOffline: offlineChecks)
        }
        return Result(min: raw.min()!, mean: mean, max: raw.max()!, checkedWhileOffline: offlineChecks)
    }
}
