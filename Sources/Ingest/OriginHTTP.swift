import LiveMedia
import Logging
import NIOHTTP1
import ServiceLifecycle
import StreamrHTTP

/// The ingest as an origin: HTTP-FLV straight from the publisher (`GET /live/<stream>.flv`), for
/// viewers no node can take; the chunks it keeps (`GET /chunks/<stream>/<chain>-<seq>`: the
/// validator's reference bytes); HLS of the chunks it seals (`/live/<stream>/index.m3u8` in
/// MPEG-TS, `/live/<stream>/fmp4.m3u8` in fMP4: what the watch page plays when no node can take
/// it); and `/healthz`.
struct OriginHTTP: Sendable {
    let streams: IngestStreams
    let viewers: ViewerLimits
    let logger: Logger

    var handler: HTTPHandler {
        { request in
            guard request.method == .GET || request.method == .HEAD else {
                return .text(.methodNotAllowed, "only GET and HEAD are served here\n", headers: ["Allow": "GET, HEAD"])
            }
            let parts = request.pathComponents
            if parts == ["healthz"] { return .text(.ok, "ok\n") }
            if parts.count == 3, parts[0] == "chunks" {
                guard let stream = streams.stream(named: parts[1]) else { return .text(.notFound, "stream `\(parts[1])` is not live here\n") }
                return ChunkHTTP.response(stream: stream, name: parts[2], request: request)
            }
            if parts.count == 3, parts[0] == "live" {
                guard let stream = streams.stream(named: parts[1]), let feed = streams.hls(named: parts[1]) else {
                    return .text(.notFound, "stream `\(parts[1])` is not live here\n", headers: HTTPHeaders(HLSHTTP.cors + [("Retry-After", "5")]))
                }
                return HLSHTTP.response(feed: feed, file: parts[2], request: request, meter: stream.meter)
            }
            guard parts.count == 2, parts[0] == "live", parts[1].hasSuffix(".flv") else {
                return .text(.notFound, "not found: try /live/<stream>.flv, /live/<stream>/index.m3u8 or /live/<stream>/fmp4.m3u8\n")
            }
            let name = String(parts[1].dropLast(4))
            guard let stream = streams.stream(named: name) else {
                return .text(.notFound, "stream `\(name)` is not live here\n", headers: ["Retry-After": "5"])
            }
            return HTTPFLV.response(for: stream, limits: viewers, request: request, logger: logger)
        }
    }
}

/// Serves the RTMP listener until graceful shutdown.
struct RTMPService: Service {
    let server: RTMPServer
    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await server.run() }
        } catch is CancellationError {
        }
    }
}
