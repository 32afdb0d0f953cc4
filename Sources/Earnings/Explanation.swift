/// The text behind `streamrctl earnings --explain`: each number with the terms that made it, so
/// a friend can redo the arithmetic by hand. The structured values stay in the result types
/// (for `--json`); this is only their rendering.
extension PeriodEarnings {
    public var summary: [String] {
        var lines = ["\(stream) \(period): pool \(money(poolMinor))"]
        if period.isPartial {
            lines.append("  partial period: \(money(poolMinor)) = ⌊pool per period × \(seconds(period.span.durationMs)) / \(seconds(period.alignedSpan.durationMs))⌋")
        }
        if split.totalWeight == 0 {
            lines.append("  no node had weight: all \(money(unspentMinor)) unspent")
        } else {
            lines.append("  total weight \(split.totalWeight); \(split.leftoverUnits) minor unit(s) left after the floors went to the largest remainders")
        }
        for node in nodes { lines.append("  \(node.node): \(money(node.amountMinor))") }
        return lines
    }

    /// Every term of one node's amount, or nil for a node not in this period.
    public func explanation(of id: String) -> [String]? {
        guard let n = node(id) else { return nil }
        let u = n.uptime, q = n.quality, s = n.share
        var lines = ["\(n.node) in \(stream) \(period): \(money(n.amountMinor))"]
        lines.append("  heartbeat uptime \(seconds(u.heartbeatMs)) = paused \(seconds(u.pausedMs)) + passed checks \(seconds(u.countedMs))"
            + " + cut by failed checks \(seconds(u.cutMs)) + validator not covering \(seconds(u.uncoveredMs))"
            + " + no check this period \(seconds(u.uncheckedMs))")
        for piece in u.pieces where !piece.passed {
            let why = piece.failedReasons.isEmpty ? "" : " (\(piece.failedReasons.joined(separator: "; ")))"
            lines.append("    cut \(seconds(piece.cutMs)) of \(UTCTime.format(piece.span.startMs))–\(UTCTime.format(piece.span.endMs)):"
                + " check at \(UTCTime.format(piece.decidedByMs)) failed\(why)")
        }
        if u.pausedChecks > 0 { lines.append("    \(u.pausedChecks) check(s) while paused ignored") }
        lines.append("  verified \(seconds(u.verifiedMs)) = \(seconds(u.countedMs)) + ⌊unverifiable \(seconds(u.unverifiableMs))"
            + " × quality \(PPM.format(u.qualityPpm))⌋ \(seconds(u.creditedUnverifiableMs)); whole seconds \(u.verifiedSeconds)")
        if q.fraudFlagged {
            let reasons = n.fraudFlags.map { "\(UTCTime.format($0.atMs)) \($0.reason)" }.joined(separator: "; ")
            lines.append("  flagged for fraud (\(reasons)): quality 0, nothing earned, penalty 1.000000 carried forward")
        } else {
            lines.append("  quality \(PPM.format(q.qualityPpm)) = 1 − penalty \(PPM.format(q.penaltyPpm)); penalty = min(1,"
                + " ⌈\(q.failed) failed / \(q.checks) checks⌉ \(PPM.format(q.failedPartPpm))"
                + " + ⌊\(q.decay) × previous \(PPM.format(q.previousPenaltyPpm))⌋ \(PPM.format(q.carriedPartPpm)))"
                + "; \(q.passed) passed")
        }
        lines.append(q.fraudFlagged ? "  weight 0 (flagged)" : "  weight \(s.weight) = \(s.claim.uptimeSeconds) s × \(s.claim.qualityPpm) ppm")
        if split.totalWeight > 0 {
            let rank = s.remainderRank.map { ", remainder rank \($0) of \(split.shares.filter { $0.weight > 0 }.count)" } ?? ""
            lines.append("  exact share = \(poolMinor) × \(s.weight) / \(split.totalWeight) = \(s.exact.whole) + \(s.exact.remainder)/\(split.totalWeight) minor units")
            lines.append("  floor \(money(s.floorMinor))\(rank): "
                + (s.gotExtraUnit ? "+1 minor unit (one of the \(split.leftoverUnits) left over)" : "no extra unit")
                + " → \(money(s.amountMinor))")
        } else {
            lines.append("  no node had weight: the pool is unspent")
        }
        return lines
    }

    private func money(_ minor: Int64) -> String { "\(currency.format(minor)) \(currency.code)" }
    private func seconds(_ ms: Int64) -> String { MinorUnits.format(ms, exponent: 3) + " s" }
}
