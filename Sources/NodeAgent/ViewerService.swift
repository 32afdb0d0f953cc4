import LiveMedia
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import Relay
import StreamrHTTP

/// Viewer HTTP on 8935: HTTP-FLV (`/live/<stream>.flv`), HLS (`/live/<stream>/index.m3u8` in
/// MPEG-TS, `/live/<stream>/fmp4.m3u8` in fMP4, and their segments), raw verified chunks (`/chunks/<stream>/<seq>` or `<chain>-<seq>`), and
/// `/healthz`. Every byte goes through the stream's meter (one place for heartbeats and the
/// upload cap). At its upload cap, or while the friend has paused the node, a new viewer gets
/// 503 with Retry-After (and the coordinator, told so by heartbeats, sends viewers elsewhere).
final class ViewerService: Sendable {
    let relays: Relays
    let port: Int
    let publicURL: String
    let uploadCapBps: UInt64
    let viewerLimits: ViewerLimits
    let paused: @Sendable () -> Bool
    /// A cheating node, for tests only (see TestFault).
    let fault: TestFault?
    /// The stale fault's playlists, by stream and file: the first one served, kept.
    private let frozenPlaylists = NIOLockedValueBox([String: String]())
    let logger: Logger

    init(relays: Relays, port: Int, publicURL: String, uploadCapBps: UInt64, viewerLimits: ViewerLimits,
         paused: @escaping @Sendable () -> Bool, fault: TestFault? = nil, logger: Logger) {
        self.relays = relays; self.port = port; self.publicURL = publicURL; self.uploadCapBps = uploadCapBps
        self.viewerLimits = viewerLimits; self.paused = paused; self.fault = fault; self.logger = logger
    }

    /// Bits per second sent to viewers over the last few seconds, all streams.
    func uploadBps() -> UInt64 { relays.meter.bitsPerSecond(nowMs: LiveClock.nowMs()) }

    var handler: HTTPHandler {
        { request in self.handle(request) }
    }

    /// What the watch page (on the coordinator's origin) needs to play from a node.
    static let cors: [(String, String)] = HLSHTTP.cors

    func handle(_ request: HTTPRequest) -> HTTPResponse {
        if request.method == .OPTIONS {
            return HTTPResponse(status: .noContent, headers: HTTPHeaders(Self.cors + [
                ("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS"), ("Access-Control-Allow-Headers", "Range"),
                ("Access-Control-Max-Age", "86400")]))
        }
        guard request.method == .GET || request.method == .HEAD else {
            return .text(.methodNotAllowed, "only GET and HEAD are served here\n", headers: ["Allow": "GET, HEAD, OPTIONS"])
        }
        let parts = request.pathComponents
        if parts == ["healthz"] { return .text(.ok, "ok\n") }
        if fault == .fakeUptime, parts.first == "live" || parts.first == "chunks" {
            return .text(.notFound, "nothing here\n")
        }
        if parts.count == 2, parts[0] == "live", parts[1].hasSuffix(".flv") {
            return flv(stream: String(parts[1].dropLast(4)), request: request)
        }
        if parts.count == 3, parts[0] == "chunks" {
            guard let relayed = relays.stream(named: parts[1]) else { return notRelayed(parts[1]) }
            if let busy = busy() { return busy }
            let response = ChunkHTTP.response(stream: relayed.live, name: parts[2], request: request)
            return fault == .altered ? TestFault.alter(response) : response
        }
        if parts.count == 3, parts[0] == "live" {
            return hls(stream: parts[1], file: parts[2], request: request)
        }
        return .text(.notFound, "not found: try /live/<stream>.flv, /live/<stream>/index.m3u8, /live/<stream>/fmp4.m3u8 or /chunks/<stream>/<seq>\n")
    }

    private func notRelayed(_ name: String) -> HTTPResponse {
        .text(.notFound, "stream `\(name)` is not relayed here\n", headers: HTTPHeaders(Self.cors + [("Retry-After", "5")]))
    }

    /// Full (the upload cap) or paused: new viewers go elsewhere.
    private func busy() -> HTTPResponse? {
        if paused() {
            return .text(.serviceUnavailable, "this node is paused by its owner; try another node\n",
                         headers: HTTPHeaders(Self.cors + [("Retry-After", "30")]))
        }
        guard uploadCapBps > 0, uploadBps() >= uploadCapBps else { return nil }
        return .text(.serviceUnavailable, "this node is at its upload cap; try again, or another node\n",
                     headers: HTTPHeaders(Self.cors + [("Retry-After", "10")]))
    }

    private func flv(stream name: String, request: HTTPRequest) -> HTTPResponse {
        guard let relayed = relays.stream(named: name), !relayed.live.isEnded else { return notRelayed(name) }
        if let busy = busy() { return busy }
        if fault == .stale { return TestFault.staleFLV(relayed.live) }
        let logger = self.logger, live = relayed.live
        return HTTPFLV.response(for: live, limits: viewerLimits, request: request, logger: logger,
                                onStart: { logger.info("viewer joined \(name)", metadata: ["event": "viewers", "stream": "\(name)", "viewers": "\(live.playerCount + 1)"]) },
                                onEnd: { logger.info("viewer left \(name)", metadata: ["event": "viewers", "stream": "\(name)", "viewers": "\(live.playerCount)"]) })
    }

    /// HLS (`/live/<stream>/index.m3u8` with `<chain>-<seq>.ts` segments, `/live/<stream>/fmp4.m3u8`
    /// with `<chain>-<seq>.m4s` fragments and `<chain>-init-<seq>.mp4` init segments): HLSHTTP.
    private func hls(stream name: String, file: String, request: HTTPRequest) -> HTTPResponse {
        guard let relayed = relays.stream(named: name), let feed = relays.hls(named: name) else { return notRelayed(name) }
        // The stale test fault: playlists frozen at the oldest segments kept when first asked
        // for (a playlist only a little behind could pass as live while the stream is young).
        if fault == .stale, let rendition = HLSFeed.Rendition.allCases.first(where: { $0.playlistName == file }),
           let playlist = frozenPlaylists.withLockedValue({ frozen in
               if let kept = frozen["\(name)/\(file)"] { return kept }
               let first = feed.stalePlaylist(rendition)
               frozen["\(name)/\(file)"] = first
               return first
           }) {
            return .text(.ok, playlist, contentType: HLSHTTP.playlistType,
                         headers: HTTPHeaders(HLSHTTP.cors + [("Cache-Control", "no-cache, no-store")]))
        }
        return HLSHTTP.response(feed: feed, file: file, request: request, meter: relayed.live.meter, admit: busy)
    }
}
