import StreamrConfig
import CoordinatorCore
import FoundationEssentials
import Glibc
import StreamrRPC
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

    /// The ingest asks whether a node may subscribe to a stream (at the Subscribe and again
    /// while it stays): still enrolled, enabled, with the very certificate it was issued, and
    /// invited to that stream. A CA signature alone would let a disabled node or a replaced
    /// certificate keep pulling the streamer's upload.
    func authorizeSubscription(_ args: Arguments) throws -> AdminResponse {
        let id = try args.required("node"), certificate = try args.required("certificate"), stream = try args.required("stream")
        let node: NodeRecord
        do { node = try store.node(id: id) } catch CoordinatorStoreError.unknownNode {
            throw ErrorMessage(.permissionDenied, "node \(id) is not enrolled here")
        }
        guard node.enabled else { throw ErrorMessage(.permissionDenied, "node \(id) has been disabled by the host") }
        guard node.certificateSHA256 == certificate else {
            throw ErrorMessage(.permissionDenied, "this certificate was not issued to node \(id)")
        }
        guard node.stream == nil || node.stream == stream else {
            throw ErrorMessage(.permissionDenied, "node \(id) relays `\(node.stream ?? "")`, not `\(stream)`")
        }
        return AdminResponse()
    }

    /// The ingest's reports on its persistent connection: `publish sync streams=a=live,b=reconnecting`
    /// (all that is up there, at every (re)connect), `publish started|reconnecting|stopped
    /// stream=S [reason=R]`, and `publish alive` (keepalive).
    func publishReport(_ command: [String], _ args: Arguments, connection: RPCConnection) throws -> AdminResponse {
        switch command {
        case ["publish", "alive"]:
            liveness.heard(connection)
            return AdminResponse()
        case ["publish", "sync"]:
            var streams: [String: StreamLiveness.State] = [:]
            for pair in (args.optional("streams") ?? "").split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, let state = StreamLiveness.State(rawValue: parts[1]) else {
                    throw InvalidInput("`streams` is name=live|reconnecting,..., got `\(pair)`")
                }
                streams[try StreamName.validate(parts[0])] = state
            }
            for (name, state) in liveness.sync(connection, streams: streams) { logState(name, state, reason: "ingest sync") }
            return AdminResponse(message: "\(streams.count) stream(s) up at the ingest")
        case ["publish", "started"], ["publish", "reconnecting"], ["publish", "stopped"]:
            let stream = try StreamName.validate(try args.required("stream"))
            _ = try store.stream(named: stream)
            let state: StreamLiveness.State = switch command[1] {
            case "started": .live
            case "reconnecting": .reconnecting
            default: .offline
            }
            liveness.set(stream, state, connection: connection)
            logState(stream, state, reason: args.optional("reason"))
            return AdminResponse(message: "stream `\(stream)` is \(state.rawValue)")
        default:
            throw ErrorMessage(.unsupported, "unknown publish report `\(command.joined(separator: " "))`")
        }
    }

    func logState(_ stream: String, _ state: StreamLiveness.State, reason: String?) {
        let why = reason.map { ": \($0)" } ?? ""
        switch state {
        case .live: logger.notice("stream \(stream) is live", metadata: ["event": "stream_live", "stream": "\(stream)"])
        case .reconnecting:
            logger.notice("stream \(stream) lost its publisher\(why); waiting for it", metadata: [
                "event": "stream_reconnecting", "stream": "\(stream)", "reason": "\(reason ?? "")"])
        case .offline:
            logger.notice("stream \(stream) is offline\(why)", metadata: ["event": "stream_offline", "stream": "\(stream)", "reason": "\(reason ?? "")"])
        }
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
        let checks = try leaderboardCheckCells(fromMs: from, stream: stream?.name)
        let rows = Leaderboard.rank(intervals, fromMs: from, toMs: now).map { entry -> [String] in
            let percent = Double(entry.uptimeMs) * 100 / Double(window * 1000)
            return ["\(entry.rank)", entry.node, nodes[entry.node]?.displayName ?? "?", entry.streams.joined(separator: ","),
                    Leaderboard.formatDuration(ms: entry.uptimeMs), "\(entry.uptimeMs / 1000)",
                    TextFormat.fixed(percent, places: 1), "\(activity[entry.node]?.bytesServed ?? 0)"] + checks.cells(entry.node)
        }
        return AdminResponse(columns: ["rank", "node_id", "display_name", "streams", "uptime", "uptime_seconds", "uptime_percent",
                                       "bytes_served"] + checks.columns,
                             rows: rows,
                             message: "uptime from heartbeats over the last \(Period.format(window))"
                                 + (stream.map { " for stream `\($0.name)`" } ?? "")
                                 + "; quality is the spot-check score /watch routes by, checks those in the window",
                             types: [.integer, .text, .text, .text, .text, .integer, .number, .integer] + checks.types)
    }
}
