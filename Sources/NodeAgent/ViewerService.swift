import CoordinatorCore
import FoundationEssentials
import Glibc
import LiveMedia
import Logging
import NIOConcurrencyHelpers
import NIOCore
import StreamrHTTP
import StreamrTLS

/// Viewer HTTP on 8935: HTTP-FLV (`/live/<stream>.flv`), raw verified chunks
/// (`/chunks/<stream>/<seq>`), and `/healthz`. It counts viewers and bytes served per stream for
/// the heartbeats, and keeps to the configured upload cap: a viewer beyond it gets 503 with
/// Retry-After (and the coordinator, told the node is full, stops sending viewers).
final class ViewerService: Sendable {
    let relays: Relays
    let port: Int
    let publicURL: String
    let uploadCapBps: UInt64
    let logger: Logger
    private let served: NIOLockedValueBox<[String: Int64]>
    private let rate = NIOLockedValueBox(RateWindow(seconds: 5))

    init(relays: Relays, port: Int, publicURL: String, uploadCapBps: UInt64, bytesServed: [String: Int64], logger: Logger) {
        self.relays = relays; self.port = port; self.publicURL = publicURL; self.uploadCapBps = uploadCapBps
        self.logger = logger
        served = NIOLockedValueBox(bytesServed)
    }

    func bytesServedTotals() -> [String: Int64] { served.withLockedValue { $0 } }

    /// Bits per second sent to viewers over the last 5 s.
    func uploadBps() -> UInt64 {
        let now = NodeStore.nowMs()
        return UInt64(rate.withLockedValue { $0.perSecond(nowMs: now) } * 8)
    }

    private func count(_ bytes: Int, stream: String) {
        served.withLockedValue { $0[stream, default: 0] += Int64(bytes) }
        let now = NodeStore.nowMs()
        rate.withLockedValue { $0.add(UInt64(bytes), atMs: now) }
    }

    var handler: HTTPHandler {
        { request in self.handle(request) }
    }

    func handle(_ request: HTTPRequest) -> HTTPResponse {
        guard request.method == .GET || request.method == .HEAD else {
            return .text(.methodNotAllowed, "only GET and HEAD are served here\n", headers: ["Allow": "GET, HEAD"])
        }
        let parts = request.pathComponents
        if parts == ["healthz"] { return .text(.ok, "ok\n") }
        if parts.count == 2, parts[0] == "live", parts[1].hasSuffix(".flv") {
            return flv(stream: String(parts[1].dropLast(4)))
        }
        if parts.count == 3, parts[0] == "chunks" {
            return chunk(stream: parts[1], seq: parts[2])
        }
        if parts.count == 3, parts[0] == "live" {
            return hls(stream: parts[1], file: parts[2])
        }
        return .text(.notFound, "not found: try /live/<stream>.flv, /live/<stream>/index.m3u8 or /chunks/<stream>/<seq>\n")
    }

    private func full() -> HTTPResponse? {
        guard uploadCapBps > 0, uploadBps() >= uploadCapBps else { return nil }
        return .text(.serviceUnavailable, "this node is at its upload cap; try again, or another node\n", headers: ["Retry-After": "10"])
    }

    private func flv(stream name: String) -> HTTPResponse {
        guard let relayed = relays.stream(named: name), !relayed.live.isEnded else {
            return .text(.notFound, "stream `\(name)` is not relayed here\n", headers: ["Retry-After": "5"])
        }
        if let full = full() { return full }
        let logger = self.logger
        return HTTPFLV.response(for: relayed.live, meter: { [weak self] bytes in self?.count(bytes, stream: name) },
                                onStart: { logger.info("viewer joined \(name)", metadata: ["event": "viewers", "stream": "\(name)", "viewers": "\(relayed.live.viewerCount + 1)"]) },
                                onEnd: { logger.info("viewer left \(name)", metadata: ["event": "viewers", "stream": "\(name)", "viewers": "\(relayed.live.viewerCount)"]) })
    }

    /// `/live/<stream>/index.m3u8` and its `<seq>.ts` segments (one per verified chunk).
    private func hls(stream name: String, file: String) -> HTTPResponse {
        guard let relayed = relays.stream(named: name) else { return .text(.notFound, "stream `\(name)` is not relayed here\n") }
        if file == "index.m3u8" {
            guard let playlist = relayed.hls.playlist() else {
                return .text(.notFound, "no HLS segment yet for `\(name)`; try again in a few seconds\n", headers: ["Retry-After": "2"])
            }
            if let full = full() { return full }
            return .text(.ok, playlist, contentType: "application/vnd.apple.mpegurl", headers: ["Cache-Control": "no-cache"])
        }
        guard file.hasSuffix(".ts"), let seq = UInt64(file.dropLast(3)) else { return .text(.notFound, "not found\n") }
        guard let segment = relayed.hls.segment(seq) else { return .text(.notFound, "segment \(seq) of `\(name)` is not kept here\n") }
        if let full = full() { return full }
        count(segment.count, stream: name)
        return HTTPResponse(status: .ok, headers: ["Content-Type": "video/mp2t", "Cache-Control": "public, max-age=60"],
                            body: .bytes(ByteBuffer(bytes: segment)))
    }

    private func chunk(stream name: String, seq text: String) -> HTTPResponse {
        guard let relayed = relays.stream(named: name) else { return .text(.notFound, "stream `\(name)` is not relayed here\n") }
        guard let seq = UInt64(text) else { return .text(.badRequest, "chunk numbers are whole numbers\n") }
        guard let chunk = relayed.live.sealedChunk(seq: seq) else {
            return .text(.notFound, "chunk \(seq) of `\(name)` is not kept here (verified chunks only; the last few are kept)\n")
        }
        if let full = full() { return full }
        count(chunk.bytes.readableBytes, stream: name)
        return HTTPResponse(status: .ok, headers: [
            "Content-Type": "application/octet-stream",
            "X-Streamr-Chunk-SHA256": SHA256Digest.hex(chunk.seal.sha256),
            "Cache-Control": "public, max-age=60",
        ], body: .bytes(chunk.bytes))
    }
}
