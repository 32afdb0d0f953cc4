// streamr-sim: the validator's rules under simulated nodes, seeded and reproducible.
//
//   streamr-sim [--nodes N] [--periods P] [--seed S] [--spread-only]
//
// Runs the real Validation code (SpotChecker's scheduler and planner, OutcomeEvaluator,
// FraudPolicy, RoutingScores) against simulated nodes and the network between them, and
// prints what it measured beside the targets, met or not (see bench/README.md).
#if canImport(Glibc)
import Glibc  // exit(3) only
#endif
import Validation

var nodes = 1000, periods = 8, seed: UInt64 = 1, spreadOnly = false
var args = CommandLine.arguments.dropFirst()
while let arg = args.popFirst() {
    switch arg {
    case "--nodes": nodes = Int(args.popFirst() ?? "") ?? nodes
    case "--periods": periods = Int(args.popFirst() ?? "") ?? periods
    case "--seed": seed = UInt64(args.popFirst() ?? "") ?? seed
    case "--spread-only": spreadOnly = true
    default:
        print("usage: streamr-sim [--nodes N] [--periods P] [--seed S] [--spread-only]")
        exit(64)
    }
}

func fixed(_ x: Double, _ digits: Int = 1) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let n = Int((x * scale + (x < 0 ? -0.5 : 0.5)))
    let whole = n / Int(scale), frac = abs(n % Int(scale))
    guard digits > 0 else { return "\(whole)" }
    let f = String(frac)
    return "\(n < 0 && whole == 0 ? "-" : "")\(whole).\(String(repeating: "0", count: digits - f.count))\(f)"
}

func percent(_ part: Int, _ whole: Int) -> String { whole == 0 ? "-" : fixed(100 * Double(part) / Double(whole), 2) + "%" }

func table(_ header: [String], _ rows: [[String]]) {
    print("| " + header.joined(separator: " | ") + " |")
    print("|" + header.map { _ in "---" }.joined(separator: "|") + "|")
    for row in rows { print("| " + row.joined(separator: " | ") + " |") }
    print("")
}

print("streamr-sim: \(nodes) nodes, seed \(seed); checks per node per hour \(fixed(CheckScheduler.Configuration().checksPerNodePerHour, 0)), " +
      "global cap \(fixed(CheckScheduler.Configuration().maxChecksPerSecond, 0))/s\n")

if !spreadOnly {
    var sim = FraudScenario(nodes: nodes, periods: periods, seed: seed)
    sim.run()
    print("## Fraud and detection: \(periods) one-hour periods\n")
    var rows: [[String]] = []
    for b in Behaviour.allCases {
        guard let r = sim.rows[b] else { continue }
        let n = r.nodePeriods
        rows.append([b.rawValue, "\(n)", "\(r.checksMin) / \(fixed(Double(r.checks) / Double(n))) / \(r.checksMax)",
                     fixed(Double(r.passed) / Double(n)), "\(r.passedMax)", percent(r.fraudFlagged, n), percent(r.sybil, n),
                     percent(r.capped, n), fixed(Double(r.scorePPM) / Double(n) / 10_000, 1) + "%"])
    }
    table(["behaviour", "node-periods", "checks min / mean / max", "passed (mean)", "passed (max)", "fraud-flagged",
           "sybil (earns 0)", "claims capped", "routing score"], rows)

    let honest = [Behaviour.honest, .inflating, .selfViewing, .sybil].compactMap { sim.rows[$0] }
    let honestRuns = honest.reduce(0) { $0 + $1.nodePeriods }, honestFlagged = honest.reduce(0) { $0 + $1.fraudFlagged }
    let altering = sim.rows[.altering] ?? .init(), fake = sim.rows[.fakeUptime] ?? .init()
    let detected = Double(altering.flaggedAltered) / Double(max(1, altering.nodePeriods))
    table(["target", "measured", "met"], [
        ["honest-serving node (1% blips) fraud-flagged in < 1% of periods",
         percent(honestFlagged, honestRuns) + " of \(honestRuns)", honestFlagged * 100 < honestRuns ? "yes" : "no"],
        ["node altering 5% of responses flagged within one period in >= 99% of runs",
         percent(altering.flaggedAltered, altering.nodePeriods) + " of \(altering.nodePeriods)", detected >= 0.99 ? "yes" : "no"],
        ["fake-uptime node: checks passed = 0 in every period",
         "max \(fake.passedMax) passed in \(fake.nodePeriods) node-periods", fake.passedMax == 0 && fake.nodePeriods > 0 ? "yes" : "no"],
    ])
    let kinds = ProbeKind.allCases.map { "\($0.rawValue) \(percent(sim.kindCounts[$0] ?? 0, sim.probes))" }.joined(separator: ", ")
    let evidence = sim.alteredReasons.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key) \($0.value)" }
    print("altered verdicts by reason: \(evidence.joined(separator: ", "))")
    print("probes: \(sim.probes) (\(kinds)); mean \(sim.probeBytes / max(1, sim.probes)) body bytes per probe at the simulated " +
          "0.5 Mbit/s (~125 kB chunks)\n")
}

print("## Budget spread: checks per node in one hour\n")
var spreadRows: [[String]] = []
// The global cap scaled to the node count, so that each row has the same budget per node
// (the default budget, then about 16, 8 and 4 checks per node per hour).
for cap in [50.0, 5.0, 2.4, 1.2] {
    let scaled = cap * Double(nodes) / 1000
    let defaults = CheckScheduler.Configuration()
    let perNode = min(defaults.checksPerNodePerHour, defaults.capUtilization * scaled * 3600 / Double(nodes))
    let label = "cap \(fixed(scaled, 2))/s: \(fixed(perNode, 1)) per node per hour"
    for (name, base) in [("corrected", defaults), ("plain Poisson", CheckScheduler.Configuration.plainPoisson)] {
        var config = base
        config.maxChecksPerSecond = scaled
        let r = SpreadScenario.run(config, nodes: nodes, seed: seed)
        spreadRows.append(["\(label), \(name)", "\(r.min)", fixed(r.mean), "\(r.max)", fixed(Double(r.max) / r.mean, 2),
                           r.met ? "yes" : "no"])
    }
}
let churn = SpreadScenario.run(CheckScheduler.Configuration(), nodes: nodes, seed: seed, churn: 0.3)
spreadRows.append(["default, 30% of nodes flapping (per online hour)", "\(churn.min)", fixed(churn.mean), "\(churn.max)",
                   fixed(Double(churn.max) / churn.mean, 2), churn.met && churn.checkedWhileOffline == 0 ? "yes" : "no"])
table(["scheduler", "min", "mean", "max", "max / mean", "every node checked, none over 2x mean"], spreadRows)
print("checks made of offline nodes while flapping: \(churn.checkedWhileOffline)")
