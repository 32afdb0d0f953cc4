/// What one node brings to a period's split.
public struct Claim: Sendable, Hashable {
    public var node: String
    public var uptimeSeconds: Int64
    public var qualityPpm: Int64
    public var fraudFlagged: Bool

    public init(node: String, uptimeSeconds: Int64, qualityPpm: Int64, fraudFlagged: Bool = false) {
        self.node = node; self.uptimeSeconds = uptimeSeconds; self.qualityPpm = qualityPpm; self.fraudFlagged = fraudFlagged
    }

    /// uptime seconds × quality ppm; 0 when flagged for fraud.
    public var weight: Int64 { fraudFlagged ? 0 : uptimeSeconds * qualityPpm }
}

/// One node's part of a split, with every step of the arithmetic.
public struct Share: Sendable, Equatable {
    public var claim: Claim
    public var weight: Int64
    /// pool × weight / totalWeight = exact.whole + exact.remainder / totalWeight.
    public var exact: ExactShare
    /// 1-based place in the largest-remainder order (remainder down, then node id), nil when the
    /// node had no weight.
    public var remainderRank: Int?
    /// One of the minor units left after the floors went to this node.
    public var gotExtraUnit: Bool

    public var node: String { claim.node }
    public var floorMinor: Int64 { exact.whole }
    public var amountMinor: Int64 { exact.whole + (gotExtraUnit ? 1 : 0) }
}

/// One stream's pool for one period split by weight with the largest-remainder method.
public struct PoolSplit: Sendable, Equatable {
    public var poolMinor: Int64
    public var totalWeight: Int64
    /// By node id (UTF-8 byte order), whatever order the claims came in.
    public var shares: [Share]
    /// pool − Σ floors: the units handed out one each by largest remainder.
    public var leftoverUnits: Int64
    /// The whole pool when no one had weight, else 0: nothing is spent on no one.
    public var unspentMinor: Int64

    public var paidMinor: Int64 { poolMinor - unspentMinor }
    public func share(of node: String) -> Share? { shares.first { $0.node == node } }

    /// Splits `poolMinor` (0 to 10^15) over `claims` (unique nodes). Exact: each share is
    /// ⌊pool × w / W⌋ computed through a 128-bit product, the leftover units go one each to the
    /// largest remainders (all over the same W, so compared as integers), ties to the smaller
    /// node id; the amounts add up to the pool exactly.
    public static func split(poolMinor: Int64, claims: [Claim]) throws -> PoolSplit {
        guard (0...1_000_000_000_000_000).contains(poolMinor) else {
            throw EarningsError("pool \(poolMinor) minor units is outside 0–10^15")
        }
        var seen = Set<String>()
        var total: Int64 = 0
        for claim in claims {
            guard seen.insert(claim.node).inserted else { throw EarningsError("node \(claim.node) is claimed twice") }
            guard (0...(TimeSpan.validTimes.upperBound / 1000)).contains(claim.uptimeSeconds) else {
                throw EarningsError("node \(claim.node): uptime \(claim.uptimeSeconds) s is out of range")
            }
            guard (0...PPM.one).contains(claim.qualityPpm) else {
                throw EarningsError("node \(claim.node): quality \(claim.qualityPpm) ppm is outside 0–1000000")
            }
            let (sum, overflow) = total.addingReportingOverflow(claim.weight)
            guard !overflow else { throw EarningsError("total weight overflows: too many node-seconds in one period") }
            total = sum
        }
        let ordered = claims.sorted { byteOrder($0.node, $1.node) }
        guard total > 0 else {
            let shares = ordered.map {
                Share(claim: $0, weight: 0, exact: ExactShare(whole: 0, remainder: 0, denominator: 0), remainderRank: nil, gotExtraUnit: false)
            }
            return PoolSplit(poolMinor: poolMinor, totalWeight: 0, shares: shares, leftoverUnits: 0, unspentMinor: poolMinor)
        }
        var shares = ordered.map { claim -> Share in
            let (whole, remainder) = mulDiv(poolMinor, claim.weight, total)
            return Share(claim: claim, weight: claim.weight, exact: ExactShare(whole: whole, remainder: remainder, denominator: total),
                         remainderRank: nil, gotExtraUnit: false)
        }
        let leftover = poolMinor - shares.reduce(0) { $0 + $1.exact.whole }
        // Σ remainders = leftover × W with every remainder < W, so leftover < (nodes with weight).
        let ranking = shares.indices.filter { shares[$0].weight > 0 }.sorted { a, b in
            let ra = shares[a].exact.remainder, rb = shares[b].exact.remainder
            return ra != rb ? ra > rb : byteOrder(shares[a].node, shares[b].node)
        }
        for (place, index) in ranking.enumerated() {
            shares[index].remainderRank = place + 1
            shares[index].gotExtraUnit = Int64(place) < leftover
        }
        return PoolSplit(poolMinor: poolMinor, totalWeight: total, shares: shares, leftoverUnits: leftover, unspentMinor: 0)
    }
}
