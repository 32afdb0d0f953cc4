import FLV
import HLS
import LiveMedia
import Logging
import NIOConcurrencyHelpers
import NIOCore
import Relay

/// HLS for one relayed stream: each verified chunk becomes one MPEG-TS segment (chunks start at
/// keyframes, so segments align with them), made as soon as the chunk is verified, and a live
/// playlist of the last six. It lives as long as the node relays the stream — across lost
/// subscriptions, a publisher's reconnect and a new chain — so EXT-X-MEDIA-SEQUENCE only grows
/// (a node-local count); a new chain or new sequence headers is an EXT-X-DISCONTINUITY. A
/// segment is named by its chunk, `<chain>-<seq>.ts`, which names the same bytes forever: a
/// name is never reused, so segments may be cached while the playlist may not.
final class HLSFeed: Sendable {
    let stream: String
    let logger: Logger
    private let state = NIOLockedValueBox(State())
    static let kept = 10

    struct State {
        var muxer = TSMuxer()
        var playlist = HLSPlaylist(windowSize: 6)
        var segments: [String: ByteBuffer] = [:]
        var order: [String] = []
        var mediaSequence: UInt64 = 0
        var lastHeaders: [ByteBuffer] = []
        var lastChunk: (chainID: UInt64, seq: UInt64)?
        var refused: String?
    }

    init(stream: String, logger: Logger) { self.stream = stream; self.logger = logger }

    /// Muxes a verified chunk with the sequence headers it plays with.
    func add(_ chunk: SealedChunk, headers: [LiveFrame], newChain: Bool) {
        var parser = FLVParser()
        let tags: [FLVTag]
        var sequenceHeaders = SequenceHeaders()
        do {
            tags = try parser.feed(Array(chunk.bytes.readableBytesView))
            try parser.finish()
            for frame in headers {
                var headerParser = FLVParser()
                for tag in try headerParser.feed(Array(frame.flv.readableBytesView)) { sequenceHeaders.update(with: tag) }
            }
        } catch {
            return refuse("chunk \(chunk.seal.seq) does not parse: \(error)")
        }
        let seal = chunk.seal
        let name = ChunkHTTP.name(chainID: seal.chainID, seq: seal.seq)
        state.withLockedValue { s in
            let headerBytes = headers.map(\.flv)
            let follows = s.lastChunk.map { $0.chainID == seal.chainID && $0.seq + 1 == seal.seq } ?? true
            let discontinuity = s.lastChunk != nil && (newChain || !follows || headerBytes != s.lastHeaders)
            if discontinuity { s.muxer.markDiscontinuity() }
            let segment: [UInt8]
            do { segment = try s.muxer.segment(tags: tags, headers: sequenceHeaders) } catch {
                s.refused = "\(error)"
                return
            }
            s.refused = nil
            s.lastHeaders = headerBytes
            s.lastChunk = (seal.chainID, seal.seq)
            s.segments[name] = ByteBuffer(bytes: segment)
            s.order.append(name)
            while s.order.count > Self.kept { s.segments[s.order.removeFirst()] = nil }
            s.mediaSequence += 1
            // One frame's worth past the last tag (a 30 fps frame), as the next chunk starts there.
            let duration = Int(seal.lastTimestampMs &- seal.firstTimestampMs) + 33
            s.playlist.append(HLSPlaylist.Segment(seq: s.mediaSequence, durationMs: max(1, duration), discontinuity: discontinuity,
                                                  uri: name + ".ts"))
        }
    }

    private func refuse(_ why: String) {
        state.withLockedValue { $0.refused = why }
    }

    /// The playlist, once there is a segment.
    func playlist() -> String? {
        state.withLockedValue { $0.playlist.segments.isEmpty ? nil : $0.playlist.render() }
    }

    /// Why the latest chunk could not be muxed (e.g. a codec HLS in MPEG-TS does not carry).
    var refusal: String? { state.withLockedValue { $0.refused } }

    func segment(named name: String) -> ByteBuffer? { state.withLockedValue { $0.segments[name] } }

    /// The stale test fault's playlist: the oldest three segments still kept, as if the node
    /// had stopped there.
    func stalePlaylist() -> String? {
        state.withLockedValue { s in
            let oldest = s.order.prefix(3)
            guard !oldest.isEmpty else { return nil }
            var text = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:3\n"
            text += "#EXT-X-MEDIA-SEQUENCE:\(s.mediaSequence + 1 - UInt64(s.order.count))\n"
            for name in oldest { text += "#EXTINF:2.000,\n\(name).ts\n" }
            return text
        }
    }
}
