import NIOCore
import NIOHTTP1
import StreamrHTTP
import StreamrRPC

/// `GET /live/<stream>/<file>`: a stream's HLS as a node or the ingest's origin serves it —
/// the MPEG-TS playlist `index.m3u8` and its `.ts` segments, the fMP4 playlist `fmp4.m3u8`
/// with its `.m4s` fragments and `.mp4` init segments. Playlists are never cached; segments,
/// named by their chunk, may be. HEAD and Range work on segments; every byte sent (playlists
/// included) is counted on the stream's meter as `.hls`. With CORS for the watch page.
public enum HLSHTTP {
    /// What a page on another origin (the coordinator's watch page) may read and send.
    public static let cors: [(String, String)] = [
        ("Access-Control-Allow-Origin", "*"),
        ("Access-Control-Expose-Headers", "Content-Length, Content-Range, X-Streamr-Chunk, X-Streamr-Codecs"),
    ]
    public static let playlistType = "application/vnd.apple.mpegurl"

    /// `admit` is asked before anything is served (a node at its upload cap answers 503).
    public static func response(feed: HLSFeed, file: String, request: HTTPRequest, meter: TrafficMeter,
                                admit: () -> HTTPResponse? = { nil }) -> HTTPResponse {
        let stream = feed.stream
        if let rendition = HLSFeed.Rendition.allCases.first(where: { $0.playlistName == file }) {
            guard let playlist = feed.playlist(rendition) else {
                if let why = feed.refusal(rendition) {
                    let other = HLSFeed.Rendition.allCases.first { $0 != rendition && feed.playlist($0) != nil }
                    let hint = other.map { "; play /live/\(stream)/\($0.playlistName) instead" } ?? ""
                    return .text(.notFound, "HLS in \(rendition == .mpegTS ? "MPEG-TS" : "fMP4") is not available for `\(stream)`: \(why)\(hint)\n",
                                 headers: HTTPHeaders(cors + [("Retry-After", "10")]))
                }
                return .text(.notFound, "no HLS segment yet for `\(stream)`; try again in a few seconds\n",
                             headers: HTTPHeaders(cors + [("Retry-After", "2")]))
            }
            if let refusal = admit() { return refusal }
            feed.noteViewer(viewerKey(request), nowMs: LiveClock.nowMs())
            let response = HTTPResponse.text(.ok, playlist, contentType: playlistType,
                                             headers: HTTPHeaders(cors + [("Cache-Control", "no-cache, no-store")]))
            if request.method != .HEAD { meter.add(playlist.utf8.count, .hls) }
            return response
        }
        guard let found = feed.file(named: file) else {
            return .text(.notFound, "\(file) of `\(stream)` is not kept here\n", headers: HTTPHeaders(cors))
        }
        if let refusal = admit() { return refusal }
        var headers = cors + [("Content-Type", found.contentType),
                              ("Cache-Control", found.immutable ? "public, max-age=3600, immutable" : "no-cache")]
        if let codecs = found.codecs { headers.append(("X-Streamr-Codecs", codecs)) }
        let response = HTTPByteRanges.respond(to: request, body: found.bytes, headers: headers)
        if request.method != .HEAD, case .bytes(let body) = response.body { meter.add(body.readableBytes, .hls) }
        return response
    }

    /// One HLS player: its address, and the id the watch page adds (`?viewer=`) so that
    /// players behind one address count apart.
    static func viewerKey(_ request: HTTPRequest) -> String {
        let address = request.remoteAddress?.displayIP ?? "?"
        guard let id = request.query["viewer"], !id.isEmpty else { return address }
        return address + "/" + String(id.prefix(32))
    }
}
