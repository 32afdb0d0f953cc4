import FLV

/// A live HLS media playlist (RFC 8216) over a sliding window of the latest segments, one
/// per chunk, for MPEG-TS or fMP4 segments. Appending keeps what the spec needs across
/// windows: the target duration never shrinks (4.3.3.1 forbids changing it), and
/// discontinuities that slide out of the window are counted in EXT-X-DISCONTINUITY-SEQUENCE.
/// For fMP4 every segment names its init segment; EXT-X-MAP is written before the first
/// listed segment and wherever the init changes, and a change is always a discontinuity.
public struct HLSPlaylist: Sendable, Hashable {
    public enum Format: Sendable, Hashable {
        /// EXT-X-VERSION 3, as before.
        case mpegTS
        /// EXT-X-VERSION 7, EXT-X-INDEPENDENT-SEGMENTS (every segment starts at a keyframe),
        /// EXT-X-MAP.
        case fragmentedMP4
    }

    public struct Segment: Sendable, Hashable {
        /// The media sequence number, a counter the caller keeps: it must grow with every
        /// segment. Clients number the listed segments consecutively from the first, so a
        /// jump is listed as a discontinuity; count segments, not chunks, to avoid one.
        public var seq: UInt64
        public var durationMs: Int
        /// EXT-X-DISCONTINUITY before this segment (also implied by a jump in seqs or a new map).
        public var discontinuity: Bool
        /// Relative to the playlist: "<seq>.ts" unless given.
        public var uri: String
        /// fMP4: the URI of the init segment this segment needs (EXT-X-MAP). A URI must not
        /// be reused for other bytes: name inits uniquely, like segments.
        public var map: String?

        public init(seq: UInt64, durationMs: Int, discontinuity: Bool = false, uri: String? = nil, map: String? = nil) {
            self.seq = seq
            self.durationMs = max(0, durationMs)
            self.discontinuity = discontinuity
            self.uri = uri ?? "\(seq).ts"
            self.map = map
        }
    }

    public let windowSize: Int
    public let format: Format
    /// The listed segments, oldest first.
    public private(set) var segments: [Segment] = []
    /// Discontinuities that have left the window.
    public private(set) var discontinuitySequence: UInt64 = 0
    /// Seconds: the longest segment ever listed, rounded to the nearest second (at least 1).
    /// RFC 8216 4.3.3.1 asks EXTINF rounded to the nearest integer to be at most the target;
    /// rounding up instead would make 2.03 s chunks a 3 s target, and players that hold back
    /// three target durations from the live edge (Safari, Chromium) a segment later.
    public private(set) var targetDuration = 1
    /// Set when the stream ended: adds EXT-X-ENDLIST.
    public var ended = false

    /// The last chunk appended through `append(chunk:)`: seq and last timestamp.
    private var lastChunk: ChunkMark?
    private struct ChunkMark: Sendable, Hashable {
        var seq: UInt64
        var lastTimestamp: UInt32
    }

    public init(windowSize: Int = 6, format: Format = .mpegTS) {
        self.windowSize = max(1, windowSize)
        self.format = format
    }

    /// Adds a segment at the live edge, dropping the oldest beyond the window. A seq that does
    /// not follow the last one, or a new map, is a discontinuity. A seq that does not grow is
    /// refused (false): clients would take it for a segment they have.
    @discardableResult
    public mutating func append(_ segment: Segment) -> Bool {
        var segment = segment
        if let last = lastAppended {
            guard segment.seq > last.seq else { return false }
            if last.seq &+ 1 != segment.seq || last.map != segment.map { segment.discontinuity = true }
        } else {
            segment.discontinuity = false  // nothing before it to be discontinuous with
        }
        lastAppended = segment
        segments.append(segment)
        targetDuration = max(targetDuration, (segment.durationMs + 500) / 1000)
        while segments.count > windowSize {
            if segments.removeFirst().discontinuity { discontinuitySequence += 1 }
        }
        return true
    }

    /// The newest segment ever appended (still known when the window is empty of it).
    private var lastAppended: Segment?

    /// Adds the segment for `chunk`, its duration from the chunk's timestamps (see
    /// `durationMs(of:nextFirstTimestamp:)`). A timestamp jump from the previous chunk
    /// (publisher restart, encoder wrap) is a discontinuity, as is a gap in seqs.
    @discardableResult
    public mutating func append(chunk: Chunk, nextFirstTimestamp: UInt32? = nil, uri: String? = nil, map: String? = nil) -> Bool {
        var discontinuity = false
        if let last = lastChunk {
            let step = Int(Int32(bitPattern: chunk.firstTimestamp &- last.lastTimestamp))
            discontinuity = last.seq &+ 1 != chunk.seq || step < -Self.jitterToleranceMs || step > Self.maxGapMs
        }
        lastChunk = ChunkMark(seq: chunk.seq, lastTimestamp: chunk.lastTimestamp)
        return append(Segment(seq: chunk.seq, durationMs: Self.durationMs(of: chunk, nextFirstTimestamp: nextFirstTimestamp),
                              discontinuity: discontinuity, uri: uri, map: map))
    }

    // The same tolerances as the FLV Chunker's defaults: steps it does not treat as a
    // discontinuity are not one here either.
    static let jitterToleranceMs = 1000
    static let maxGapMs = 10_000
    /// The longest plausible time between a chunk's last tag and the next chunk's first
    /// (one frame at 1 fps): more is a gap, not part of this segment.
    static let maxFrameIntervalMs = 1000

    /// A chunk's playing time: up to the next chunk's first tag when that is known and
    /// follows within a frame interval, which includes the last frame's duration; otherwise
    /// first to last tag (`Chunk.durationMs`, short of the last frame's duration).
    public static func durationMs(of chunk: Chunk, nextFirstTimestamp: UInt32?) -> Int {
        if let next = nextFirstTimestamp {
            let toNext = Int(Int32(bitPattern: next &- chunk.firstTimestamp))
            if toNext >= chunk.durationMs && toNext <= chunk.durationMs + maxFrameIntervalMs { return toNext }
        }
        return chunk.durationMs
    }

    /// The playlist text. With no segment yet it lists none (a server would rather wait for
    /// the first chunk, or answer 404).
    public func render() -> String {
        var lines = ["#EXTM3U"]
        switch format {
        case .mpegTS: lines.append("#EXT-X-VERSION:3")
        case .fragmentedMP4: lines += ["#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
        }
        lines += ["#EXT-X-TARGETDURATION:\(targetDuration)", "#EXT-X-MEDIA-SEQUENCE:\(segments.first?.seq ?? 0)"]
        if discontinuitySequence > 0 { lines.append("#EXT-X-DISCONTINUITY-SEQUENCE:\(discontinuitySequence)") }
        var map: String?
        for segment in segments {
            if segment.discontinuity { lines.append("#EXT-X-DISCONTINUITY") }
            // A map applies until the next one (4.3.2.5): write it again only when it changes.
            if let uri = segment.map, uri != map {
                lines.append("#EXT-X-MAP:URI=\"\(uri)\"")
                map = uri
            }
            lines.append("#EXTINF:\(Self.seconds(segment.durationMs)),")
            lines.append(segment.uri)
        }
        if ended { lines.append("#EXT-X-ENDLIST") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Milliseconds as decimal seconds with three places ("2.033"), without Foundation.
    static func seconds(_ ms: Int) -> String {
        let frac = String(ms % 1000)
        return "\(ms / 1000)." + String(repeating: "0", count: 3 - frac.count) + frac
    }
}
