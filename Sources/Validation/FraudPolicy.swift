/// The fraud rules, per node per accounting period: from the period's probe results and
/// the node's claims (heartbeats) to flags (the node earns nothing for the period) and
/// adjustments (claims capped to what is plausible). Pure: facts in, decisions out.
public struct FraudPolicy: Sendable {
    public struct Configuration: Sendable, Hashable {
        /// One altered response is evidence (see `Verdict.altered`).
        public var alteredToFlag = 1
        /// Stale is flagged when repeated: at least this many, and this share of the checks
        /// that can see the live edge (one stuck moment is a failure of quality, not fraud).
        public var staleToFlag = 3
        public var staleShareToFlag = 0.2
        /// Viewers beyond those `/watch` sent (and those carried in) are believed up to this
        /// margin: a shared link, a reconnect.
        public var viewerMargin = 2
        public var viewerMarginShare = 0.1
        /// Bytes beyond viewers × bitrate × uptime are believed up to this share (the GOP
        /// burst at each start, HLS overhead).
        public var bytesMarginShare = 0.25
        /// One probe connection sees a fraction of a node's upload; its best measured
        /// transfer times this is what the node could have sent in all.
        public var throughputHeadroom = 4.0
        public var minThroughputSamples = 3
        public var sybil: SybilPolicy = .perMachineAndAddress
        public init() {}
    }

    /// What a node said in its heartbeats over the period, summed by the coordinator.
    public struct Claims: Sendable, Hashable {
        public var bytesServed: UInt64
        public var peakViewers: UInt32
        /// Per-connection reports, when the node sends them: self-viewing is subtracted.
        public var viewerConnections: [ViewerConnection]
        public init(bytesServed: UInt64 = 0, peakViewers: UInt32 = 0, viewerConnections: [ViewerConnection] = []) {
            self.bytesServed = bytesServed; self.peakViewers = peakViewers; self.viewerConnections = viewerConnections
        }
    }

    public struct ViewerConnection: Sendable, Hashable {
        public var address: String
        public var bytes: UInt64
        public init(address: String, bytes: UInt64) { self.address = address; self.bytes = bytes }
    }

    /// One node's period: its identity, probe results, claims and what the host observed.
    public struct NodePeriod: Sendable, Hashable {
        public var identity: Identity
        public var tally: ProbeTally
        public var claims: Claims
        public var uptimeMs: Int64
        /// Addresses of the viewers `/watch` sent to this node in the period.
        public var watchRedirects: [String]
        /// Plausible viewers already watching when the period began (last period's count).
        public var viewersAtStart: UInt32
        /// The stream's bitrate (0: unknown, no viewer-based bound on bytes).
        public var bitrateBps: UInt64

        public init(identity: Identity, tally: ProbeTally, claims: Claims, uptimeMs: Int64, watchRedirects: [String] = [],
                    viewersAtStart: UInt32 = 0, bitrateBps: UInt64 = 0) {
            self.identity = identity; self.tally = tally; self.claims = claims; self.uptimeMs = uptimeMs
            self.watchRedirects = watchRedirects; self.viewersAtStart = viewersAtStart; self.bitrateBps = bitrateBps
        }
        public var node: NodeID { identity.node }
    }

    public enum FlagKind: String, Sendable, Hashable, CaseIterable {
        case altered, stale, sybil
    }

    /// The node earns nothing for the period. `reason` is the stable STREAMR_REASON.
    public struct Flag: Sendable, Hashable {
        public var kind: FlagKind
        public var evidence: Int
        public var detail: String
        public var reason: String { kind.rawValue }
    }

    public enum AdjustmentKind: String, Sendable, Hashable, CaseIterable {
        case inflatedBytes = "inflated_bytes"
        case inflatedViewers = "inflated_viewers"
        case selfViewing = "self_viewing"
    }

    /// A claim not counted in full: what was claimed, what counts, and on what evidence.
    public struct Adjustment: Sendable, Hashable {
        public var kind: AdjustmentKind
        public var claimed: UInt64
        public var counted: UInt64
        public var evidence: Int
        public var reason: String { kind.rawValue }
    }

    public struct Assessment: Sendable, Hashable {
        public var node: NodeID
        public var flags: [Flag]
        public var adjustments: [Adjustment]
        public var countedBytes: UInt64
        public var countedViewers: UInt32
        public var tally: ProbeTally
        public var earns: Bool { flags.isEmpty }
        public var fraudFlagged: Bool { flags.contains { $0.kind != .sybil } }
    }

    public let configuration: Configuration
    public init(configuration: Configuration = Configuration()) { self.configuration = configuration }

    private struct Pair: Hashable { var machine: String; var address: String }

    /// Every node's assessment for one period, in node order. All nodes of the period go in
    /// together: sybil groups and self-viewing span identities.
    public func assess(_ periods: [NodePeriod]) -> [Assessment] {
        let active = periods.filter { $0.uptimeMs > 0 }.map(\.identity)
        let losers = SybilRule.losers(active, policy: configuration.sybil)
        var addressesOfMachine: [String: Set<String>] = [:]
        for p in periods where !p.identity.machineID.isEmpty {
            addressesOfMachine[p.identity.machineID, default: []].insert(p.identity.address)
        }
        // A sybil flag's evidence: the active identities sharing its machine id or its address,
        // counted once (machine + address - both), not by a scan of all of them per flag (a
        // coordinator with 10,000 nodes behind one address spent 12 s per tick on that).
        var onMachine: [String: Int] = [:], atAddress: [String: Int] = [:], onBoth: [Pair: Int] = [:]
        for identity in active {
            onMachine[identity.machineID, default: 0] += 1
            atAddress[identity.address, default: 0] += 1
            onBoth[Pair(machine: identity.machineID, address: identity.address), default: 0] += 1
        }
        return periods.sorted { $0.node < $1.node }.map { p in
            var selfAddresses = addressesOfMachine[p.identity.machineID] ?? []
            selfAddresses.insert(p.identity.address)
            var a = assess(p, selfAddresses: selfAddresses)
            if let winner = losers[p.node] {
                let m = p.identity.machineID, address = p.identity.address
                let group = (onMachine[m] ?? 0) + (atAddress[address] ?? 0) - (onBoth[Pair(machine: m, address: address)] ?? 0)
                a.flags.append(Flag(kind: .sybil, evidence: group, detail: "same machine or address as \(winner), which earns"))
            }
            return a
        }
    }

    func assess(_ p: NodePeriod, selfAddresses: Set<String>) -> Assessment {
        let c = configuration
        var flags: [Flag] = []
        var adjustments: [Adjustment] = []
        let t = p.tally
        if t.altered >= c.alteredToFlag {
            flags.append(Flag(kind: .altered, evidence: t.altered, detail: "\(t.altered) of \(t.checks) checks altered"))
        }
        if t.stale >= c.staleToFlag && Double(t.stale) >= c.staleShareToFlag * Double(t.freshnessChecks) {
            flags.append(Flag(kind: .stale, evidence: t.stale, detail: "\(t.stale) of \(t.freshnessChecks) live checks stale"))
        }

        // Self-viewing: the node's own machine watching it earns nothing.
        let own = p.claims.viewerConnections.filter { selfAddresses.contains($0.address) }
        let ownBytes = own.reduce(UInt64(0)) { $0 &+ $1.bytes }
        let ownRedirects = p.watchRedirects.filter { selfAddresses.contains($0) }.count
        var bytes = p.claims.bytesServed - min(p.claims.bytesServed, ownBytes)
        var viewers = p.claims.peakViewers - min(p.claims.peakViewers, UInt32(clamping: own.count))
        if !own.isEmpty || ownRedirects > 0 {
            adjustments.append(Adjustment(kind: .selfViewing, claimed: p.claims.bytesServed, counted: bytes,
                                          evidence: own.count + ownRedirects))
        }

        // Viewers: those sent by /watch (not its own), those already there, and a margin.
        let arrivals = Int(p.viewersAtStart) + p.watchRedirects.count - ownRedirects
        let margin = max(c.viewerMargin, Int(FastMath.ceil(Double(arrivals) * c.viewerMarginShare)))
        let plausibleViewers = UInt32(clamping: arrivals + margin)
        if viewers > plausibleViewers {
            adjustments.append(Adjustment(kind: .inflatedViewers, claimed: UInt64(viewers), counted: UInt64(plausibleViewers),
                                          evidence: Int(viewers - plausibleViewers)))
            viewers = plausibleViewers
        }

        // Bytes: no more than the counted viewers could take at the stream's rate, nor than
        // the node's measured upload could send, over its uptime; plus what probes took.
        let seconds = Double(max(0, p.uptimeMs)) / 1000
        var bounds: [Double] = []
        if p.bitrateBps > 0 {
            bounds.append(Double(viewers) * Double(p.bitrateBps) / 8 * seconds * (1 + c.bytesMarginShare))
        }
        if t.bulkSamples >= c.minThroughputSamples {
            bounds.append(Double(t.maxBulkThroughputBps) * c.throughputHeadroom / 8 * seconds)
        }
        if let bound = bounds.min() {
            let plausible = UInt64(min(bound, 1.8e19)) &+ UInt64(t.bytes)
            if bytes > plausible {
                adjustments.append(Adjustment(kind: .inflatedBytes, claimed: bytes, counted: plausible, evidence: t.bulkSamples))
                bytes = plausible
            }
        }
        return Assessment(node: p.node, flags: flags, adjustments: adjustments, countedBytes: bytes,
                          countedViewers: viewers, tally: t)
    }
}
