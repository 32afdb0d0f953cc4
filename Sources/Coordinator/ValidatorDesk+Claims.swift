import CoordinatorCore
import StreamrConfig
import Logging
import ServiceLifecycle
import StreamrWire
import Validation

/// What no single report shows, decided every tick over the nodes online now: one earning
/// identity per machine id and per address (`sybil_policy`), claims of bytes and viewers
/// capped to what `/watch` sent, the stream's bitrate and the node's measured transfers allow,
/// its own machine's viewing not counted (FraudPolicy); and a silent validator's coverage ended.
extension ValidatorDesk {
    public struct Ticker: Service {
        let desk: ValidatorDesk
        let interval: Duration
        public init(desk: ValidatorDesk, interval: Duration = .seconds(5)) { self.desk = desk; self.interval = interval }

        public func run() async throws {
            await cancelWhenGracefulShutdown {
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    do { try desk.tick() } catch {
                        desk.logger.warning("claims and sybil review failed: \(error)", metadata: ["event": "review_failed"])
                    }
                }
            }
        }
    }

    /// One review: claims sampled from the latest heartbeats, assessed per stream.
    public func tick() throws {
        let now = clockMs()
        expireSilentValidators(now)
        let live = (sessions?.live() ?? []).filter { now - $0.receivedMs <= onlineWindowMs && !$0.heartbeat.paused }
        guard !live.isEmpty else { return }
        let lengths = try periodLengths()
        let enrolled = Dictionary(try store.enrolmentOrder().map { ($0.node, $0.enrolledAtMs) }, uniquingKeysWith: { a, _ in a })
        var periodsByStream: [String: [FraudPolicy.NodePeriod]] = [:]
        var starts: [String: Int64] = [:]
        state.withLockedValue { s in
            for l in live {
                for c in l.heartbeat.streams {
                    guard let length = lengths[c.stream], let enrolledAt = enrolled[l.node] else { continue }
                    let start = Self.periodStart(now, lengthMs: length)
                    starts[c.stream] = start
                    let key = Key(node: l.node, stream: c.stream)
                    var w: ClaimWindow
                    if let old = s.claims[key], old.periodStartMs == start {
                        w = old
                    } else if let old = s.claims[key] {
                        // A new period: its claims start from where the last one's ended.
                        w = ClaimWindow(periodStartMs: start, baselineBytes: old.lastBytes, lastBytes: old.lastBytes,
                                        viewersAtStart: old.countedViewers ?? 0)
                    } else {
                        w = ClaimWindow(periodStartMs: start, baselineBytes: c.bytesServed, lastBytes: c.bytesServed)
                    }
                    if c.bytesServed < w.lastBytes {
                        // The node's counter went back (it lost its state): keep what was claimed so far.
                        let claimed = w.claimedBytes
                        w.baselineBytes = c.bytesServed >= claimed ? c.bytesServed - claimed : 0
                    }
                    w.lastBytes = c.bytesServed
                    // The validator's live watches are players there, not viewers (said within the last 10 s).
                    let probes = s.watching[l.node].map { now - $0.atMs <= 10_000 ? $0.count : 0 } ?? 0
                    w.peakViewers = max(w.peakViewers, c.viewers - min(c.viewers, UInt32(clamping: probes)))
                    if let last = w.lastSampleMs, now - last <= onlineWindowMs { w.uptimeMs += now - last }
                    w.lastSampleMs = now
                    w.samples.append((now, c.bytesServed))
                    let lag = configuration.claimsLagMs
                    if let keep = w.samples.lastIndex(where: { $0.ms <= now - lag }), keep > 0 { w.samples.removeFirst(keep) }
                    s.claims[key] = w
                    let tally = s.tallies[key].flatMap { $0.periodStartMs == start ? $0.tally : nil } ?? ProbeTally()
                    let redirects = (s.redirects[l.node] ?? []).filter { $0.ms >= start }.map(\.ip)
                    let identity = Identity(node: Validation.NodeID(l.node), machineID: Self.hex(l.heartbeat.machineIDSHA256),
                                            address: l.remoteIP ?? "", enrolledAtMs: enrolledAt)
                    // Heartbeats count players (HTTP-FLV, RTMP); HLS viewers fetch segments and are
                    // not counted, so the viewers /watch sent (not from the node's own address)
                    // stand in for them: never fewer viewers than were sent.
                    let sent = UInt32(clamping: redirects.filter { $0 != identity.address }.count)
                    s.claims[key]?.judgedBytes = w.claimedBytes(asOf: now - lag)
                    s.claims[key]?.viewersSent = sent
                    periodsByStream[c.stream, default: []].append(FraudPolicy.NodePeriod(
                        identity: identity, tally: tally,
                        claims: .init(bytesServed: w.claimedBytes(asOf: now - lag), peakViewers: max(w.peakViewers, sent)),
                        uptimeMs: max(1, w.uptimeMs), watchRedirects: redirects, viewersAtStart: w.viewersAtStart,
                        bitrateBps: s.bitrates[c.stream] ?? 0))
                }
            }
            // Redirects older than any period still open are no one's evidence.
            let oldest = starts.values.min() ?? now
            for (node, list) in s.redirects { s.redirects[node] = list.filter { $0.ms >= oldest } }
        }
        let policy = FraudPolicy(configuration: configuration.fraud)
        for (stream, periods) in periodsByStream {
            let start = starts[stream] ?? now
            for a in policy.assess(periods) {
                let key = Key(node: a.node.rawValue, stream: stream)
                state.withLockedValue { s in
                    s.claims[key]?.countedViewers = a.countedViewers
                    s.claims[key]?.countedBytes = a.countedBytes
                }
                for flag in a.flags where flag.kind == .sybil {
                    if let raised = try store.raiseFlag(node: a.node.rawValue, stream: stream, atMs: now, reason: flag.reason,
                                                        evidence: flag.detail, unlessSince: start) {
                        logger.warning("node \(raised.nodeID) does not earn on \(stream) this period: \(flag.detail)", metadata: [
                            "event": "fraud_flagged", "node": "\(raised.nodeID)", "stream": "\(stream)", "reason": "sybil",
                            "flag": "\(raised.id)"])
                    }
                }
                for adjustment in a.adjustments {
                    let first = try store.recordAdjustment(ClaimAdjustmentRecord(
                        nodeID: a.node.rawValue, stream: stream, periodStartMs: start, kind: adjustment.reason,
                        claimed: Int64(clamping: adjustment.claimed), counted: Int64(clamping: adjustment.counted),
                        evidence: Int64(adjustment.evidence), lastMs: now))
                    if first {
                        logger.warning("node \(a.node) claims on \(stream) capped: \(adjustment.reason), claimed \(adjustment.claimed), counted \(adjustment.counted)",
                                       metadata: ["event": "claim_capped", "node": "\(a.node)", "stream": "\(stream)",
                                                  "reason": "\(adjustment.reason)", "claimed": "\(adjustment.claimed)",
                                                  "counted": "\(adjustment.counted)"])
                    }
                }
            }
        }
    }

    /// A validator that stopped sending keepalives stopped covering (its interval ends at its last one).
    func expireSilentValidators(_ now: Int64) {
        let silent = state.withLockedValue { s -> [Int64] in
            var ended: [Int64] = []
            for (key, c) in s.coverage where now - c.lastMs > configuration.coverageSilenceMs && c.intervalID != nil {
                ended.append(c.intervalID!)
                s.coverage[key]?.intervalID = nil
            }
            return ended
        }
        for id in silent {
            logger.warning("the validator went silent: coverage interval \(id) ends", metadata: [
                "event": "validator_coverage_ended", "reason": "silent"])
        }
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String($0, radix: 16).leftPadded(2) }.joined()
    }
}

/// `sybil_policy`: which identities count as one (FraudPolicy's sybil rule).
public enum SybilPolicyText {
    public static func parse(_ text: String) throws -> SybilPolicy {
        var policy: SybilPolicy = []
        for part in text.split(separator: ",").map({ $0.trimmingWhitespace() }) where !part.isEmpty {
            switch part {
            case "machine": policy.insert(.perMachine)
            case "address": policy.insert(.perAddress)
            case "off", "none": break
            default: throw InvalidInput("`sybil_policy` is machine, address, machine,address or off, got `\(text)`")
            }
        }
        return policy
    }
}
