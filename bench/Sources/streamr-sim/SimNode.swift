import Validation

/// How a simulated node behaves towards anyone fetching from it (it cannot tell probes from
/// viewers), and what it claims in its heartbeats.
enum Behaviour: String, CaseIterable {
    /// Serves correctly; 1% of responses fail at random (network blips).
    case honest
    /// Honest service, but alters 5% of its responses (one byte, one tag, another body).
    case altering
    /// Heartbeats, serves nothing: refused or 404.
    case fakeUptime = "fake-uptime"
    /// Serves genuine data 10 chunks (20 s) behind the live edge.
    case stale
    /// Honest service; claims 10× the bytes and 5× the viewers it has.
    case inflating
    /// Honest service; its own machine "views" it: half its bytes go to its own address.
    case selfViewing = "self-viewing"
    /// Honest service, three identities per machine and address.
    case sybil
}

struct SimNode {
    let id: NodeID
    let behaviour: Behaviour
    let identity: Identity
    let throughputBps: UInt64
    let baseTTFBMs: Int
    var viewers: UInt32

    static let blipRate = 0.01
    static let alterRate = 0.05
    static let staleLag: UInt64 = 10

    /// The newest chunk this node has.
    func newest(_ stream: SimStream) -> UInt64 {
        behaviour == .stale ? stream.newest - min(stream.newest, Self.staleLag) : stream.newest
    }

    /// What the node answers to a plan (live watches are answered by `watch` once their end
    /// has been sealed). Returns the response and, for HLS, the segment.
    func answer(_ plan: PlannedProbe, stream: SimStream, rng: inout SeededRandom) -> (HTTPObservation, HTTPObservation?) {
        if behaviour == .fakeUptime {
            return rng.chance(0.5) ? (HTTPObservation(error: .refused, totalMs: 1), nil)
                : (HTTPObservation(status: 404, body: Array("not relayed here\n".utf8), ttfbMs: baseTTFBMs, totalMs: baseTTFBMs + 1), nil)
        }
        if let blip = blip(&rng) { return (blip, nil) }
        let alter = behaviour == .altering && rng.chance(Self.alterRate)
        switch plan.kind {
        case .range:
            guard let seq = plan.chunkSeq, seq <= newest(stream), let chunk = stream.bytes[seq], let r = plan.range else {
                return (notKept(), nil)
            }
            var body = Array(chunk[r.offset..<r.end])
            if alter { body[Int.random(in: 0..<body.count, using: &rng)] ^= 0x20 }
            return (timed(HTTPObservation(status: 206, headers: [HTTPHeader("Content-Range", "bytes \(r.offset)-\(chunk.count - 1)/\(chunk.count)")],
                                          body: body), rng: &rng), nil)
        case .chunk:
            guard let seq = plan.chunkSeq, seq <= newest(stream), let chunk = stream.bytes[seq], var digest = stream.digests[seq] else {
                return (notKept(), nil)
            }
            if alter { digest[0] ^= 1 }  // the I/O layer's hash of a body that is not the chunk
            return (timed(HTTPObservation(status: 200, bodyBytes: chunk.count, bodyDigest: digest), rng: &rng), nil)
        case .hls:
            let top = newest(stream)
            let first = top > 5 ? top - 5 : 1
            var text = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:3\n#EXT-X-MEDIA-SEQUENCE:\(first)\n"
            for seq in first...max(first, top) { text += "#EXTINF:2.000,\n\(seq).ts\n" }
            let playlist = timed(HTTPObservation(status: 200, body: Array(text.utf8)), rng: &rng)
            var segment = (0..<(188 * 200)).map { $0 % 188 == 0 ? UInt8(0x47) : UInt8(truncatingIfNeeded: $0 &* 7) }
            if alter { segment[5] ^= 1 }  // invisible: segments have no reference
            return (playlist, timed(HTTPObservation(status: 200, body: segment), rng: &rng))
        case .liveFLV:
            preconditionFailure("live watches are answered by watch(_:)")
        }
    }

    /// A live FLV watch planned at `plan.plannedAtMs`: the FLV header, the sequence header,
    /// then every tag from the latest keyframe (the open chunk's start) until the watch ends,
    /// cut mid-tag. Called once the chunk open at the end has been sealed.
    func watch(_ plan: PlannedProbe, stream: SimStream, rng: inout SeededRandom) -> HTTPObservation {
        if behaviour == .fakeUptime { return HTTPObservation(error: .refused, totalMs: 1) }
        if let blip = blip(&rng) { return blip }
        let watchMs = plan.watchMs ?? 3000
        let end = plan.plannedAtMs + Int64(watchMs)
        // Where the node is: the live edge, or (stale) ten chunks behind it, frozen.
        let edge = behaviour == .stale ? newest(stream) : UInt64(plan.plannedAtMs / SimStream.chunkMs)
        var body: [UInt8] = [0x46, 0x4C, 0x56, 1, 5, 0, 0, 0, 9, 0, 0, 0, 0] + stream.headerTag
        var seq = edge + 1
        var tags: [ArraySlice<UInt8>] = []
        outer: while let chunk = stream.bytes[seq], behaviour != .stale || seq <= edge + 1 {
            var i = 0
            while i + 11 <= chunk.count {
                let size = Int(chunk[i + 1]) << 16 | Int(chunk[i + 2]) << 8 | Int(chunk[i + 3])
                let ts = Int64(UInt32(chunk[i + 7]) << 24 | UInt32(chunk[i + 4]) << 16 | UInt32(chunk[i + 5]) << 8 | UInt32(chunk[i + 6]))
                if behaviour != .stale && ts >= end { break outer }
                tags.append(chunk[i..<i + 15 + size])
                i += 15 + size
            }
            seq += 1
        }
        if behaviour == .altering && rng.chance(Self.alterRate) && !tags.isEmpty {
            let j = Int.random(in: 0..<tags.count, using: &rng)
            var t = Array(tags[j])
            t[20] ^= 0x10
            tags[j] = t[...]
        }
        for t in tags { body += t }
        body += [9, 0, 0x10, 0, 0, 0]  // the next tag, cut off when the watch ends
        let ttfb = baseTTFBMs
        return HTTPObservation(status: 200, body: body, ttfbMs: ttfb, totalMs: ttfb + watchMs, startedAtMs: plan.plannedAtMs)
    }

    /// The heartbeats' claims for a period of `hours`, and the viewer addresses /watch sent.
    func claims(bitrateBps: UInt64, hours: Double, rng: inout SeededRandom) -> (FraudPolicy.Claims, [String]) {
        let redirects = (0..<Int(viewers)).map { _ in "192.0.2.\(Int.random(in: 1...250, using: &rng))" }
        let honestBytes = UInt64(Double(viewers) * Double(bitrateBps) / 8 * hours * 3600 * 0.9)
        switch behaviour {
        case .inflating:
            return (.init(bytesServed: honestBytes * 10, peakViewers: viewers * 5), redirects)
        case .selfViewing:
            let own = FraudPolicy.ViewerConnection(address: identity.address, bytes: honestBytes)
            return (.init(bytesServed: honestBytes * 2, peakViewers: viewers + 1, viewerConnections: [own]),
                    redirects + [identity.address])
        case .fakeUptime:
            return (.init(bytesServed: honestBytes, peakViewers: viewers), [])
        default:
            return (.init(bytesServed: honestBytes, peakViewers: viewers), redirects)
        }
    }

    private func blip(_ rng: inout SeededRandom) -> HTTPObservation? {
        guard behaviour != .fakeUptime, rng.chance(Self.blipRate) else { return nil }
        switch Int.random(in: 0..<5, using: &rng) {
        case 0: return HTTPObservation(error: .refused, totalMs: 1)
        case 1: return HTTPObservation(error: .connectTimeout, totalMs: 3000)
        case 2: return HTTPObservation(error: .firstByteTimeout, totalMs: 5000)
        // Reset after the status line: TCP delivers a correct prefix or nothing, so nothing.
        case 3: return HTTPObservation(error: .reset, status: 200, ttfbMs: baseTTFBMs, totalMs: baseTTFBMs + 5)
        default: return HTTPObservation(status: 503, body: Array("at its upload cap\n".utf8), ttfbMs: baseTTFBMs, totalMs: baseTTFBMs)
        }
    }

    private func notKept() -> HTTPObservation {
        HTTPObservation(status: 404, body: Array("chunk not kept here\n".utf8), ttfbMs: baseTTFBMs, totalMs: baseTTFBMs)
    }

    /// Fills in time to first byte (jittered) and the transfer at the node's throughput.
    private func timed(_ o: HTTPObservation, rng: inout SeededRandom) -> HTTPObservation {
        var o = o
        let ttfb = baseTTFBMs + Int.random(in: 0...baseTTFBMs, using: &rng)
        o.ttfbMs = ttfb
        o.totalMs = ttfb + Int(UInt64(o.bodyBytes) * 8000 / throughputBps)
        return o
    }
}
