import FLV
import HLS
import NIOConcurrencyHelpers
import NIOCore

/// HLS for one live stream, in two renditions of the same chunks: MPEG-TS (`index.m3u8`,
/// segments `<chain>-<seq>.ts`) and fragmented MP4 (`fmp4.m3u8`, fragments `<chain>-<seq>.m4s`
/// with init segments `<chain>-init-<seq>.mp4`, named by the chunk that started them). Each
/// chunk becomes one segment of each (chunks start at keyframes, so both align with them),
/// made as soon as the chunk is sealed (ingest) or verified (node). Used by node agents and by
/// the ingest's origin alike, so the names of a chunk's segments are the same everywhere: a
/// player that moves to another node knows where it was.
///
/// A feed lives as long as its stream is served — across lost subscriptions, a publisher's
/// reconnect and a new chain — so each rendition's EXT-X-MEDIA-SEQUENCE only grows (a count
/// of its own segments); a new chain, a gap in seqs, a timestamp jump between chunks or new
/// sequence headers is an EXT-X-DISCONTINUITY. A name is never reused for other bytes, so
/// segments may be cached while playlists may not. MPEG-TS carries H.264/HEVC and AAC; fMP4
/// also AV1 and Opus: when the latest chunk cannot be muxed into a rendition, that rendition's
/// `refusal` says why (and its playlist is not offered).
public final class HLSFeed: Sendable {
    public enum Rendition: String, Sendable, CaseIterable {
        case mpegTS = "ts"
        case fragmentedMP4 = "fmp4"

        public var playlistName: String { self == .mpegTS ? "index.m3u8" : "fmp4.m3u8" }
    }

    /// A segment, fragment, init segment or playlist as served.
    public struct File: Sendable {
        public var bytes: ByteBuffer
        public var contentType: String
        /// An init segment's RFC 6381 codecs (for MSE's addSourceBuffer).
        public var codecs: String?
        /// Segments are the same bytes forever; playlists change with every chunk.
        public var immutable: Bool
    }

    public let stream: String
    /// Segments kept per rendition (more than the playlist lists: a player a little behind,
    /// or one that just moved here from another node, still finds them).
    public static let kept = 10
    public static let windowSize = 6
    /// A player counts as watching while it fetched a playlist this recently.
    public static let viewerWindowMs: Int64 = 10_000
    static let maxViewerKeys = 4096
    /// A step between chunks (last tag to next first tag) beyond this is a timestamp jump.
    static let maxStepMs = 1000

    private let state = NIOLockedValueBox(State())

    struct TSState {
        var muxer = TSMuxer()
        var playlist = HLSPlaylist(windowSize: HLSFeed.windowSize, format: .mpegTS)
        var segments: [String: ByteBuffer] = [:]
        var order: [String] = []
        var mediaSequence: UInt64 = 0
        var refused: String?
    }

    struct FMP4State {
        var muxer = FMP4Muxer()
        var playlist = HLSPlaylist(windowSize: HLSFeed.windowSize, format: .fragmentedMP4)
        var fragments: [String: (bytes: ByteBuffer, initName: String)] = [:]
        var order: [String] = []
        var inits: [String: (bytes: ByteBuffer, codecs: String)] = [:]
        var currentInit: String?
        var mediaSequence: UInt64 = 0
        var refused: String?
    }

    struct State {
        var ts = TSState()
        var fmp4 = FMP4State()
        var lastHeaders: (video: [UInt8]?, audio: [UInt8]?)?
        var lastChunk: (chainID: UInt64, seq: UInt64, lastTimestamp: UInt32)?
        var viewers: [String: Int64] = [:]
    }

    public init(stream: String) { self.stream = stream }

    /// Muxes a chunk (its FLV tag bytes) with the sequence headers it plays with.
    public func add(chainID: UInt64, seq: UInt64, firstTimestampMs: UInt32, lastTimestampMs: UInt32, bytes: ByteBuffer,
                    headers: SequenceHeaders, newChain: Bool) {
        var parser = FLVParser()
        let tags: [FLVTag]
        do {
            tags = try parser.feed(Array(bytes.readableBytesView))
            try parser.finish()
        } catch {
            let why = "chunk \(seq) does not parse: \(error)"
            state.withLockedValue { $0.ts.refused = why; $0.fmp4.refused = why }
            return
        }
        let name = ChunkHTTP.name(chainID: chainID, seq: seq)
        let headerData = (video: headers.video?.data, audio: headers.audio?.data)
        state.withLockedValue { s in
            var discontinuity = false
            if let last = s.lastChunk {
                let follows = last.chainID == chainID && last.seq &+ 1 == seq
                let step = Int(Int32(bitPattern: firstTimestampMs &- last.lastTimestamp))
                let sameHeaders = s.lastHeaders.map { $0.video == headerData.video && $0.audio == headerData.audio } ?? false
                discontinuity = newChain || !follows || !sameHeaders || step < -Self.maxStepMs || step > Self.maxStepMs
            }
            s.lastHeaders = headerData
            s.lastChunk = (chainID, seq, lastTimestampMs)
            // One frame's worth past the last tag (a 30 fps frame), as the next chunk starts there.
            let chunkDuration = max(1, Int(Int32(bitPattern: lastTimestampMs &- firstTimestampMs)) + 33)
            Self.addTS(&s.ts, tags: tags, headers: headers, name: name, durationMs: chunkDuration, discontinuity: discontinuity)
            Self.addFMP4(&s.fmp4, tags: tags, headers: headers, name: name, chainID: chainID, seq: seq,
                         durationMs: chunkDuration, discontinuity: discontinuity)
        }
    }

    private static func addTS(_ r: inout TSState, tags: [FLVTag], headers: SequenceHeaders, name: String, durationMs: Int,
                              discontinuity: Bool) {
        if discontinuity { r.muxer.markDiscontinuity() }
        let segment: [UInt8]
        do { segment = try r.muxer.segment(tags: tags, headers: headers) } catch {
            r.refused = "\(error)"
            // The next segment that can be made starts afresh (what came before is missing).
            r.muxer.markDiscontinuity()
            return
        }
        let wasRefused = r.refused != nil
        r.refused = nil
        r.segments[name] = ByteBuffer(bytes: segment)
        r.order.append(name)
        while r.order.count > kept { r.segments[r.order.removeFirst()] = nil }
        r.mediaSequence += 1
        r.playlist.append(HLSPlaylist.Segment(seq: r.mediaSequence, durationMs: durationMs,
                                              discontinuity: discontinuity || wasRefused, uri: name + ".ts"))
    }

    private static func addFMP4(_ r: inout FMP4State, tags: [FLVTag], headers: SequenceHeaders, name: String, chainID: UInt64,
                                seq: UInt64, durationMs: Int, discontinuity: Bool) {
        if discontinuity { r.muxer.markDiscontinuity() }
        let fragment: FMP4Segment
        do { fragment = try r.muxer.segment(tags: tags, headers: headers) } catch {
            r.refused = "\(error)"
            r.muxer.markDiscontinuity()
            return
        }
        let wasRefused = r.refused != nil
        r.refused = nil
        if fragment.startsNewInit || r.currentInit == nil {
            let initName = String(chainID, radix: 16) + "-init-\(seq)"
            r.inits[initName] = (ByteBuffer(bytes: fragment.initSegment.bytes), fragment.initSegment.codecs)
            r.currentInit = initName
        }
        let initName = r.currentInit!
        r.fragments[name] = (ByteBuffer(bytes: fragment.bytes), initName)
        r.order.append(name)
        while r.order.count > kept { r.fragments[r.order.removeFirst()] = nil }
        // Inits no kept fragment needs any more go too.
        let needed = Set(r.fragments.values.map(\.initName))
        for key in r.inits.keys where !needed.contains(key) { r.inits[key] = nil }
        r.mediaSequence += 1
        r.playlist.append(HLSPlaylist.Segment(seq: r.mediaSequence, durationMs: fragment.durationMs > 0 ? fragment.durationMs : durationMs,
                                              discontinuity: discontinuity || wasRefused || fragment.discontinuity,
                                              uri: name + ".m4s", map: initName + ".mp4"))
    }

    /// The rendition's playlist, once it has a segment and while the latest chunk could be muxed.
    public func playlist(_ rendition: Rendition) -> String? {
        state.withLockedValue { s in
            switch rendition {
            case .mpegTS: s.ts.refused == nil && !s.ts.playlist.segments.isEmpty ? s.ts.playlist.render() : nil
            case .fragmentedMP4: s.fmp4.refused == nil && !s.fmp4.playlist.segments.isEmpty ? s.fmp4.playlist.render() : nil
            }
        }
    }

    /// The playlist as if the node had stopped at the oldest `count` segments it keeps (the
    /// validator's stale test fault).
    public func stalePlaylist(_ rendition: Rendition, count: Int = 3) -> String? {
        state.withLockedValue { s in
            let current = rendition == .mpegTS ? s.ts.playlist : s.fmp4.playlist
            guard !current.segments.isEmpty else { return nil }
            var stale = HLSPlaylist(windowSize: count, format: current.format)
            for segment in current.segments.prefix(count) { stale.append(segment) }
            return stale.render()
        }
    }

    /// Why the latest chunk could not be muxed into `rendition` (e.g. AV1 or Opus in MPEG-TS).
    public func refusal(_ rendition: Rendition) -> String? {
        state.withLockedValue { rendition == .mpegTS ? $0.ts.refused : $0.fmp4.refused }
    }

    /// A segment, fragment or init segment by its file name (`<chain>-<seq>.ts`,
    /// `<chain>-<seq>.m4s`, `<chain>-init-<seq>.mp4`).
    public func file(named file: String) -> File? {
        state.withLockedValue { s -> File? in
            if file.hasSuffix(".ts"), let bytes = s.ts.segments[String(file.dropLast(3))] {
                return File(bytes: bytes, contentType: "video/mp2t", codecs: nil, immutable: true)
            }
            if file.hasSuffix(".m4s"), let fragment = s.fmp4.fragments[String(file.dropLast(4))] {
                return File(bytes: fragment.bytes, contentType: "video/mp4", codecs: nil, immutable: true)
            }
            if file.hasSuffix(".mp4"), let initSegment = s.fmp4.inits[String(file.dropLast(4))] {
                return File(bytes: initSegment.bytes, contentType: "video/mp4", codecs: initSegment.codecs, immutable: true)
            }
            return nil
        }
    }

    /// The codecs of the init segment the newest fragment needs.
    public var codecs: String? {
        state.withLockedValue { s in s.fmp4.currentInit.flatMap { s.fmp4.inits[$0]?.codecs } }
    }

    /// A player (by address, and the page's own viewer id when it sends one) fetched a playlist.
    public func noteViewer(_ key: String, nowMs: Int64) {
        state.withLockedValue { s in
            s.viewers[key] = nowMs
            guard s.viewers.count > Self.maxViewerKeys else { return }
            s.viewers = s.viewers.filter { nowMs - $0.value <= Self.viewerWindowMs }
            // Still over (a flood of ids): keep the newest.
            if s.viewers.count > Self.maxViewerKeys {
                s.viewers = Dictionary(uniqueKeysWithValues: s.viewers.sorted { $0.value > $1.value }.prefix(Self.maxViewerKeys / 2).map { ($0.key, $0.value) })
            }
        }
    }

    /// HLS players seen in the last `viewerWindowMs`.
    public func viewerCount(nowMs: Int64) -> Int {
        state.withLockedValue { s in s.viewers.values.filter { nowMs - $0 <= Self.viewerWindowMs }.count }
    }
}

extension HLSFeed {
    /// A relayed chunk, with the sequence header frames it plays with.
    public func add(_ chunk: SealedChunk, headers: [LiveFrame], newChain: Bool) {
        var sequenceHeaders = SequenceHeaders()
        for frame in headers {
            var parser = FLVParser()
            guard let tags = try? parser.feed(Array(frame.flv.readableBytesView)) else { continue }
            for tag in tags { sequenceHeaders.update(with: tag) }
        }
        let seal = chunk.seal
        add(chainID: seal.chainID, seq: seal.seq, firstTimestampMs: seal.firstTimestampMs, lastTimestampMs: seal.lastTimestampMs,
            bytes: chunk.bytes, headers: sequenceHeaders, newChain: newChain)
    }
}
