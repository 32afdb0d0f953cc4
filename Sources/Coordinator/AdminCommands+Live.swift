import StreamrConfig
import CoordinatorCore
import FoundationEssentials
import Glibc
import StreamrWire

/// Commands the ingest sends over the control socket (stream keys and publish state), and
/// the leaderboard.
extension AdminService {
    // MARK: - Publishing (called by streamr-ingest)

    /// `publish authorize key=K`: the stream that key publishes, or NOT_FOUND. The key is
    /// compared by its hash, as stored; the answer never echoes it.
    func authorizePublish(_ args: Arguments) throws -> AdminResponse {
        let key = try args.required("key")
        guard key.utf8.count <= 256, let stream = try store.streamName(forKeyHash: SecretHash.hex(of: key)) else {
            logger.warning("publish refused: unknown stream key", metadata: ["event": "publish_refused", "reason": "bad_key"])
            throw ErrorMessage(.notFound, "unknown stream key (rotated, or the stream was deleted?)")
        }
        return AdminResponse(columns: ["stream"], rows: [[stream]])
    }

    func publishStarted(_ args: Arguments) throws -> AdminResponse {
        let stream = try args.required("stream")
        try store.setLive(stream: stream, true)
        logger.notice("stream \(stream) is live", metadata: ["event": "stream_live", "stream": "\(stream)"])
        return AdminResponse(message: "stream `\(stream)` is live")
    }

    func publishStopped(_ args: Arguments) throws -> AdminResponse {
        let stream = try args.required("stream")
        let reason = args.optional("reason") ?? "unpublished"
        try store.setLive(stream: stream, false)
        logger.notice("stream \(stream) is offline: \(reason)", metadata: [
            "event": "stream_offline", "stream": "\(stream)", "reason": "\(reason)"])
        return AdminResponse(message: "stream `\(stream)` is offline")
    }

    /// `publish chunk stream= seq= first_ms= last_ms= size= sha256= chain= signature=` (hex):
    /// a sealed chunk's digests, kept for the validator's spot checks.
    func publishChunk(_ args: Arguments) throws -> AdminResponse {
        let stream = try args.required("stream")
        func number(_ name: String) throws -> Int64 {
            guard let value = Int64(try args.required(name)), value >= 0 else { throw InvalidInput("`\(name)` must be a whole number") }
            return value
        }
        func hex(_ name: String) throws -> String {
            let text = try args.required(name)
            guard text.count <= 256, Hex.decode(text) != nil else { throw InvalidInput("`\(name)` must be hex") }
            return text
        }
        try store.recordChunk(stream: stream, seq: try number("seq"), firstMs: try number("first_ms"), lastMs: try number("last_ms"),
                              size: try number("size"), sha256: try hex("sha256"), chain: try hex("chain"),
                              signature: try hex("signature"), sealedMs: clockMs())
        return AdminResponse()
    }

    /// The ingest (re)started with no publishers: whatever was live is not any more.
    func publishReset() throws -> AdminResponse {
        let live = try store.streams().filter(\.live)
        for stream in live {
            try store.setLive(stream: stream.name, false)
            logger.notice("stream \(stream.name) is offline: ingest restarted", metadata: [
                "event": "stream_offline", "stream": "\(stream.name)", "reason": "ingest_restarted"])
        }
        return AdminResponse(message: "\(live.count) stream(s) set offline")
    }

    // MARK: - Leaderboard

    /// `leaderboard [stream=S] [period=24h]`: nodes ranked by verified uptime over the last
    /// `period` (default: the stream's accounting period when a stream is given, else 24h).
    func leaderboard(_ args: Arguments) throws -> AdminResponse {
        let stream = try args.optional("stream").map { try store.stream(named: $0) }
        let window = try args.optional("period").map(Period.parse) ?? stream?.periodSeconds ?? 86_400
        let now = clockMs(), from = now - window * 1000
        var intervals = try store.uptimeIntervals(fromMs: from, toMs: now)
        if let stream { intervals = intervals.filter { $0.stream == stream.name } }
        let nodes = Dictionary(uniqueKeysWithValues: try store.nodes().map { ($0.nodeID, $0) })
        let activity = try store.nodeActivity()
        let rows = Leaderboard.rank(intervals, fromMs: from, toMs: now).map { entry -> [String] in
            let percent = Double(entry.uptimeMs) * 100 / Double(window * 1000)
            return ["\(entry.rank)", entry.node, nodes[entry.node]?.displayName ?? "?", entry.streams.joined(separator: ","),
                    Leaderboard.formatDuration(ms: entry.uptimeMs), "\(entry.uptimeMs / 1000)",
                    TextFormat.fixed(percent, places: 1), "\(activity[entry.node]?.bytesServed ?? 0)"]
        }
        return AdminResponse(columns: ["rank", "node_id", "display_name", "streams", "uptime", "uptime_seconds", "uptime_percent",
                                       "bytes_served"],
                             rows: rows,
                             message: "verified uptime over the last \(Period.format(window))"
                                 + (stream.map { " for stream `\($0.name)`" } ?? "") + " (heartbeats; spot checks refine it later)")
    }
}
