import FLV
import HLS
import NIOConcurrencyHelpers

/// HLS for one relayed stream: each verified chunk becomes one MPEG-TS segment (the chunks
/// start at keyframes, so segments align with them), made as soon as the chunk is verified,
/// and a live playlist of the last six.
final class HLSFeed: Sendable {
    private let state = NIOLockedValueBox(State())
    static let kept = 10

    struct State {
        var muxer = TSMuxer()
        var playlist = HLSPlaylist(windowSize: 6)
        var segments: [UInt64: [UInt8]] = [:]
        var order: [UInt64] = []
        /// The sequence headers as they are now, and as they were when each chunk started.
        var headers = SequenceHeaders()
        var chunkHeaders: [UInt64: SequenceHeaders] = [:]
        var lastSeq: UInt64?
    }

    func header(_ tag: FLVTag, kind: TagKind) {
        state.withLockedValue { _ = $0.headers.update(with: tag, kind: kind) }
    }

    func chunkStarted(_ seq: UInt64) {
        state.withLockedValue { s in
            if s.chunkHeaders[seq] == nil { s.chunkHeaders[seq] = s.headers }
            if s.chunkHeaders.count > 2 * Self.kept { s.chunkHeaders = s.chunkHeaders.filter { $0.key + UInt64(Self.kept) >= seq } }
        }
    }

    /// A fresh subscription that did not resume: time and numbering may restart.
    func restart() {
        state.withLockedValue { s in s.muxer.markDiscontinuity(); s.lastSeq = nil }
    }

    /// Muxes a verified chunk. Returns an error text when it cannot be (e.g. AV1 or Opus,
    /// which MPEG-TS here does not carry: FMP4Muxer does), and the stream is then served
    /// without HLS.
    @discardableResult
    func add(seq: UInt64, bytes: [UInt8], firstMs: UInt32, lastMs: UInt32) -> String? {
        var parser = FLVParser()
        let tags: [FLVTag]
        do { tags = try parser.feed(bytes); try parser.finish() } catch { return "\(error)" }
        return state.withLockedValue { s -> String? in
            let headers = s.chunkHeaders.removeValue(forKey: seq) ?? s.headers
            if let last = s.lastSeq, seq != last + 1 { s.muxer.markDiscontinuity() }
            let discontinuity = s.lastSeq.map { seq != $0 + 1 } ?? false
            let segment: [UInt8]
            do { segment = try s.muxer.segment(tags: tags, headers: headers) } catch {
                return "\(error)"
            }
            s.lastSeq = seq
            s.segments[seq] = segment
            s.order.append(seq)
            while s.order.count > Self.kept { s.segments[s.order.removeFirst()] = nil }
            // One frame's worth past the last tag (a 30 fps frame), as the next chunk starts there.
            let duration = Int(lastMs &- firstMs) + 33
            s.playlist.append(HLSPlaylist.Segment(seq: seq, durationMs: max(1, duration), discontinuity: discontinuity))
            return nil
        }
    }

    /// The playlist, once there is a segment.
    func playlist() -> String? {
        state.withLockedValue { $0.playlist.segments.isEmpty ? nil : $0.playlist.render() }
    }

    func segment(_ seq: UInt64) -> [UInt8]? { state.withLockedValue { $0.segments[seq] } }
}
