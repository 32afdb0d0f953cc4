/// The parts of a live HLS media playlist a probe needs: which segments it lists.
public struct HLSPlaylistSummary: Sendable, Hashable {
    public struct Entry: Sendable, Hashable {
        public var seq: UInt64
        public var uri: String

        /// The chunk a segment named `<chain hex>-<seq>.ts` was made from (nodes name each
        /// segment after its chunk, so the playlist's freshness is measured in the ingest's
        /// sequence numbers, not the node's own media sequence); nil for other names.
        public var chunk: (chainID: UInt64, seq: UInt64)? {
            guard uri.hasSuffix(".ts") || uri.hasSuffix(".m4s") else { return nil }
            let stem = uri.prefix { $0 != "." }
            guard let dash = stem.firstIndex(of: "-"), let chain = UInt64(stem[..<dash], radix: 16),
                  let seq = UInt64(stem[stem.index(after: dash)...]) else { return nil }
            return (chain, seq)
        }
    }

    public var mediaSequence: UInt64
    public var segments: [Entry]

    /// Parses `#EXTM3U` text; nil when it is not a media playlist.
    public static func parse(_ bytes: [UInt8]) -> HLSPlaylistSummary? {
        var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: true).map { line -> String in
            var l = line[...]
            while let last = l.last, last == 0x0D || last == 0x20 { l = l.dropLast() }
            return String(decoding: l, as: UTF8.self)
        }
        guard lines.first == "#EXTM3U" else { return nil }
        lines.removeFirst()
        var sequence: UInt64 = 0
        var uris: [String] = []
        for line in lines {
            if line.hasPrefix("#EXT-X-MEDIA-SEQUENCE:") {
                guard let n = UInt64(line.dropFirst("#EXT-X-MEDIA-SEQUENCE:".count)) else { return nil }
                sequence = n
            } else if !line.hasPrefix("#") && !line.isEmpty {
                uris.append(line)
            }
        }
        return HLSPlaylistSummary(mediaSequence: sequence,
                                  segments: uris.enumerated().map { Entry(seq: sequence + UInt64($0.offset), uri: $0.element) })
    }

    /// The segment a player starting now fetches first: the third from the end (ffmpeg's
    /// live_start_index -3, hls.js's three target durations back; RFC 8216 §6.3.3).
    public var playerStart: Entry? {
        segments.isEmpty ? nil : segments[max(0, segments.count - 3)]
    }
}

extension PlannedProbe {
    /// The path of the segment to fetch after the playlist (relative URIs only: a playlist
    /// pointing elsewhere is not followed), or nil when there is none.
    public func segmentPath(playlist: HLSPlaylistSummary) -> String? {
        guard let entry = playlist.playerStart, !entry.uri.contains("://"), !entry.uri.hasPrefix("/"),
              !entry.uri.contains("..") else { return nil }
        let directory = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        return directory + "/" + entry.uri
    }
}

/// An HLS probe: the playlist must be current, the segment a well-formed transport stream
/// delivered fast enough. Segments are muxed by each node, so their bytes have no
/// reference; alteration is caught by the other kinds.
enum HLSCheck {
    static let packetSize = 188

    static func evaluate(_ plan: PlannedProbe, playlist: HTTPObservation, segment: HTTPObservation?,
                         liveEdgeSeq edge: UInt64) -> (Verdict, Reason) {
        if let failure = OutcomeEvaluator.statusFailure(playlist, accepting: [200, 206]) { return failure }
        guard let summary = HLSPlaylistSummary.parse(playlist.body), let last = summary.segments.last else {
            return (.failed, playlist.error.map(Reason.transport) ?? .badPlaylist)
        }
        // Segments named after their chunks are compared in chunk numbers, within the chain
        // the validator follows; another chain's newest segment cannot be placed (a chain
        // change in flight), so it fails the check without counting as stale.
        var newest = last.seq
        if let chunk = last.chunk, let chain = plan.chainID {
            guard chunk.chainID == chain else { return (.failed, .playlistOtherChain) }
            newest = chunk.seq
        }
        if newest > edge + 1 { return (.failed, .playlistAhead) }  // lists chunks nobody has sealed
        if edge > newest && edge - newest > UInt64(plan.limits.maxLagChunks) { return (.stale, .playlistBehind) }
        guard let segment else { return (.failed, .badPlaylist) }
        if let failure = OutcomeEvaluator.statusFailure(segment, accepting: [200, 206]) { return failure }
        if let error = segment.error { return (.failed, .transport(error)) }
        guard segment.bodyBytes > 0 else { return (.failed, .shortBody) }
        let b = segment.body
        guard segment.bodyBytes % packetSize == 0,
              stride(from: 0, to: b.count, by: packetSize).allSatisfy({ b[$0] == 0x47 }) else {
            return (.failed, .badSegment)
        }
        if OutcomeEvaluator.isSlow(segment, floor: plan.limits.minThroughputBps) { return (.failed, .slow) }
        return (.passed, .ok)
    }
}
