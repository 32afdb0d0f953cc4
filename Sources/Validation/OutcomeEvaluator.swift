/// What a probe's bytes are compared with. The validator holds it (from its own subscription
/// to the ingest and the ChunkSealed digests), never the node.
public enum ProbeReference: Sendable {
    /// Range probes: the chunk's bytes at the plan's range.
    case bytes(ArraySlice<UInt8>)
    /// Whole-chunk probes: the ingest's SHA-256 of the chunk and its size.
    case chunk(digest: [UInt8], size: Int)
    /// Live FLV watches: the stream's recent tags.
    case live(LiveReference)
    /// HLS probes: the newest sealed chunk when the playlist came back.
    case hls(liveEdgeSeq: UInt64)
}

/// Turns what a probe saw into a verdict with a stable reason. Pure: the same plan,
/// observation and reference always give the same outcome.
///
/// Precedence: altered, then stale, then failed, then passed. Differing bytes are evidence
/// even in a body cut short (TCP delivers a correct prefix or nothing), so they are looked
/// for before any transport error is reported.
public enum OutcomeEvaluator {
    /// `segment` is the HLS segment fetched after the playlist in `response` (HLS only).
    public static func evaluate(_ plan: PlannedProbe, _ response: HTTPObservation, segment: HTTPObservation? = nil,
                                reference: ProbeReference, atMs: Int64) -> ProbeOutcome {
        let (verdict, reason): (Verdict, Reason)
        var bulk = response
        switch (plan.kind, reference) {
        case (.range, .bytes(let expected)):
            (verdict, reason) = range(plan, response, expected: expected)
        case (.chunk, .chunk(let digest, let size)):
            (verdict, reason) = chunk(plan, response, digest: digest, size: size)
        case (.liveFLV, .live(let live)):
            (verdict, reason) = LiveCheck.evaluate(plan, response, reference: live)
        case (.hls, .hls(let edge)):
            (verdict, reason) = HLSCheck.evaluate(plan, playlist: response, segment: segment, liveEdgeSeq: edge)
            if let segment { bulk = segment }
        default:
            preconditionFailure("reference \(reference) does not fit a \(plan.kind) probe")
        }
        return ProbeOutcome(node: plan.node, stream: plan.stream, kind: plan.kind, chunkSeq: plan.chunkSeq,
                            verdict: verdict, reason: reason, ttfbMs: response.ttfbMs, throughputBps: bulk.throughputBps,
                            bytes: response.bodyBytes + (segment?.bodyBytes ?? 0), atMs: atMs)
    }

    /// Failure for an exchange that got no usable status: the transport error, or bad_response.
    static func statusFailure(_ o: HTTPObservation, accepting accepted: Set<Int>) -> (Verdict, Reason)? {
        guard let status = o.status else { return (.failed, .transport(o.error ?? .badResponse)) }
        return accepted.contains(status) ? nil : (.failed, .httpStatus(status))
    }

    /// Where a 206 body starts ("bytes 100-199/1000"); 0 for any other status; nil when a 206
    /// has no parsable Content-Range.
    static func bodyStart(_ o: HTTPObservation) -> Int? {
        guard o.status == 206 else { return 0 }
        guard let value = o.headers.value(of: "Content-Range") else { return nil }
        var rest = Substring(value).drop { $0 == " " }
        guard rest.hasPrefix("bytes ") else { return nil }
        rest = rest.dropFirst(6).drop { $0 == " " }
        return Int(rest.prefix { $0 != "-" })
    }

    static func range(_ plan: PlannedProbe, _ o: HTTPObservation, expected: ArraySlice<UInt8>) -> (Verdict, Reason) {
        if let failure = statusFailure(o, accepting: [200, 206]) { return failure }
        guard let want = plan.range, let start = bodyStart(o), start <= want.offset else {
            return (.failed, .badContentRange)
        }
        let skip = want.offset - start
        let length = min(want.length, expected.count)
        let have = min(length, max(0, o.body.count - skip))
        if have > 0 && !o.body[skip..<skip + have].elementsEqual(expected.prefix(have)) {
            return (.altered, .bytesDiffer)
        }
        if have < length { return (.failed, o.error.map(Reason.transport) ?? .shortBody) }
        return (.passed, .ok)
    }

    static func chunk(_ plan: PlannedProbe, _ o: HTTPObservation, digest: [UInt8], size: Int) -> (Verdict, Reason) {
        if let failure = statusFailure(o, accepting: [200, 206]) { return failure }
        guard bodyStart(o) == 0 else { return (.failed, .badContentRange) }
        // More bytes than the chunk has, in answer to a request for the chunk: another body.
        if o.bodyBytes > size { return (.altered, .sizeDiffers) }
        if o.bodyBytes < size { return (.failed, o.error.map(Reason.transport) ?? .shortBody) }
        guard let got = o.bodyDigest else { return (.failed, .unhashed) }
        if got != digest { return (.altered, .digestDiffers) }
        if let error = o.error { return (.failed, .transport(error)) }
        if isSlow(o, floor: plan.limits.minThroughputBps) { return (.failed, .slow) }
        return (.passed, .ok)
    }

    static func isSlow(_ o: HTTPObservation, floor: UInt64) -> Bool {
        guard floor > 0, let bps = o.throughputBps else { return false }
        return bps < floor
    }
}
