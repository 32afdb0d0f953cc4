/// How an exchange ended before its time, as the I/O layer saw it.
public enum TransportError: String, Sendable, Hashable, CaseIterable {
    case connectTimeout = "timeout_connect"
    case firstByteTimeout = "timeout_first_byte"
    /// Bytes stopped coming before the body (or the watch) was complete.
    case bodyTimeout = "timeout_body"
    case refused
    case reset
    case unreachable
    /// Not HTTP, or a malformed status line or headers.
    case badResponse = "bad_response"
    /// `/watch` answered without a redirect to the node.
    case watchNoRedirect = "watch_no_redirect"
    /// `/watch` redirected somewhere other than the node's session address.
    case misdirected = "watch_misdirected"
}

/// What one HTTP exchange of a probe delivered.
public struct HTTPObservation: Sendable, Hashable {
    public var error: TransportError?
    public var status: Int?
    public var headers: [HTTPHeader]
    /// The body bytes read, up to the plan's read limit.
    public var body: [UInt8]
    /// Body bytes received in all (more than `body.count` when not all were kept).
    public var bodyBytes: Int
    /// SHA-256 of the body as read, for whole-chunk probes (this module hashes nothing).
    public var bodyDigest: [UInt8]?
    /// Milliseconds from the request to the first body byte (nil: none came).
    public var ttfbMs: Int?
    /// Milliseconds from the request to the end of the exchange.
    public var totalMs: Int
    /// When the request was sent (the validator's clock). Live watches need it: tags not found
    /// in the reference are evidence only once a chunk sealed after the watch's end is held,
    /// and without it that end is unknown, so they never are.
    public var startedAtMs: Int64?

    public init(error: TransportError? = nil, status: Int? = nil, headers: [HTTPHeader] = [], body: [UInt8] = [],
                bodyBytes: Int? = nil, bodyDigest: [UInt8]? = nil, ttfbMs: Int? = nil, totalMs: Int = 0,
                startedAtMs: Int64? = nil) {
        self.error = error; self.status = status; self.headers = headers; self.body = body
        self.bodyBytes = bodyBytes ?? body.count; self.bodyDigest = bodyDigest
        self.ttfbMs = ttfbMs; self.totalMs = totalMs; self.startedAtMs = startedAtMs
    }

    /// Body bits per second after the first byte (nil: no body, or no first byte).
    public var throughputBps: UInt64? {
        guard let ttfbMs, bodyBytes > 0 else { return nil }
        return UInt64(bodyBytes) * 8000 / UInt64(max(1, totalMs - ttfbMs))
    }
}

public enum Verdict: String, Sendable, Hashable, CaseIterable {
    case passed
    /// Not served as a viewer needs it (down, slow, short); lowers quality, is not fraud.
    case failed
    /// Bytes that differ from the ingest's in a response that claimed to be them: TCP's
    /// checksums make accidental corruption negligible, so this is evidence, not a blip.
    case altered
    /// Genuine but old data: behind the live edge.
    case stale
}

/// A stable reason: the journal's STREAMR_REASON and the report's `reason`.
public struct Reason: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    public static let ok = Reason(rawValue: "ok")
    // failed
    public static func transport(_ e: TransportError) -> Reason { Reason(rawValue: e.rawValue) }
    public static func httpStatus(_ code: Int) -> Reason { Reason(rawValue: "http_\(code)") }
    public static let shortBody = Reason(rawValue: "short_body")
    public static let slow = Reason(rawValue: "slow")
    public static let badContentRange = Reason(rawValue: "bad_content_range")
    public static let noMedia = Reason(rawValue: "no_media")
    public static let badPlaylist = Reason(rawValue: "bad_playlist")
    public static let badSegment = Reason(rawValue: "bad_segment")
    public static let playlistAhead = Reason(rawValue: "playlist_ahead")
    /// The playlist's newest segment is from another chain than the ingest's current one.
    public static let playlistOtherChain = Reason(rawValue: "playlist_other_chain")
    /// The I/O layer handed a whole chunk over without its SHA-256 (a bug there, not the node's).
    public static let unhashed = Reason(rawValue: "unhashed")
    // altered
    public static let bytesDiffer = Reason(rawValue: "bytes_differ")
    public static let digestDiffers = Reason(rawValue: "digest_differs")
    public static let sizeDiffers = Reason(rawValue: "size_differs")
    public static let notFLV = Reason(rawValue: "not_flv")
    public static let unknownTags = Reason(rawValue: "unknown_tags")
    // stale
    public static let behindLiveEdge = Reason(rawValue: "behind_live_edge")
    public static let olderThanReference = Reason(rawValue: "older_than_reference")
    public static let playlistBehind = Reason(rawValue: "playlist_behind")
}

/// The result of one probe: what the coordinator is told (SpotCheckReport) and what the
/// fraud policy and the routing score are fed.
public struct ProbeOutcome: Sendable, Hashable {
    public var node: NodeID
    public var stream: String
    public var kind: ProbeKind
    public var chunkSeq: UInt64?
    public var verdict: Verdict
    public var reason: Reason
    public var ttfbMs: Int?
    public var throughputBps: UInt64?
    /// Body bytes the node sent (it counts them as served; so does the policy).
    public var bytes: Int
    public var atMs: Int64

    public init(node: NodeID, stream: String, kind: ProbeKind, chunkSeq: UInt64? = nil, verdict: Verdict, reason: Reason,
                ttfbMs: Int? = nil, throughputBps: UInt64? = nil, bytes: Int = 0, atMs: Int64) {
        self.node = node; self.stream = stream; self.kind = kind; self.chunkSeq = chunkSeq
        self.verdict = verdict; self.reason = reason; self.ttfbMs = ttfbMs; self.throughputBps = throughputBps
        self.bytes = bytes; self.atMs = atMs
    }

    public var passed: Bool { verdict == .passed }
}
