import CoordinatorCore
import StreamrConfig
import StreamrWire

/// The commands themselves. Each answers a typed table (columns, rows of text and each
/// column's JSON type, which streamrctl prints as a table or as JSON) and a message for people.
extension AdminService {
    // MARK: - Streams

    func createStream(_ args: Arguments) throws -> AdminResponse {
        let name = try StreamName.validate(try args.required("name"))
        let currency = try Currency.parse(args.optional("currency") ?? "USD")
        let pool = try Amount.parse(args.optional("pool") ?? "0", currency: currency)
        let period = try Period.parse(args.optional("per") ?? "1h")
        let key = Secret.generate()
        try store.createStream(name: name, keyHash: key.hash, pool: pool, periodSeconds: period, now: clock())
        logger.notice("stream \(name) created", metadata: ["event": "stream_created", "stream": "\(name)"])
        return keyResponse(name: name, key: key, message: "stream `\(name)` created; pool \(pool) per \(Period.format(period))")
    }

    func rotateKey(_ args: Arguments) throws -> AdminResponse {
        let name = try args.required("name")
        let key = Secret.generate()
        try store.rotateKey(stream: name, keyHash: key.hash)
        logger.notice("stream \(name) key rotated", metadata: ["event": "stream_key_rotated", "stream": "\(name)"])
        return keyResponse(name: name, key: key, message: "new key for stream `\(name)`; the old key no longer works")
    }

    /// The one time a key is ever shown.
    private func keyResponse(name: String, key: Secret, message: String) -> AdminResponse {
        AdminResponse(columns: ["name", "key", "rtmp_server", "rtmp_url"],
                      rows: [[name, key.text, endpoints.rtmpServer, endpoints.rtmpURL(key: key.text)]],
                      message: message + hostWarning())
    }

    /// " warning: ..." when the public host name will not work for friends (and OBS elsewhere).
    func hostWarning() -> String {
        PublicHost.warning(for: endpoints.host).map { "\nwarning: \($0)" } ?? ""
    }

    /// A listing's columns (a table people read); `stream show` adds the details after them.
    static let streamColumns = ["name", "state", "pool", "currency", "per", "nodes", "created"]
    static let streamTypes: [ValueType] = [.text, .text, .text, .text, .text, .integer, .timestamp]
    static let streamDetailColumns = ["live_since", "pool_minor", "per_seconds", "rtmp_server", "watch_url"]
    static let streamDetailTypes: [ValueType] = [.timestamp, .integer, .integer, .text, .text]

    func listStreams() throws -> AdminResponse {
        let nodeCounts = Dictionary(grouping: try store.nodes().compactMap(\.stream), by: { $0 }).mapValues(\.count)
        return AdminResponse(columns: Self.streamColumns,
                             rows: try store.streams().map { Array(streamRow($0, nodes: nodeCounts[$0.name] ?? 0).prefix(Self.streamColumns.count)) },
                             types: Self.streamTypes)
    }

    /// One stream, with the OBS server to stream to (never the key, which is shown once).
    func showStream(_ args: Arguments) throws -> AdminResponse {
        let stream = try store.stream(named: try args.required("name"))
        let nodes = try store.nodes().filter { $0.stream == stream.name }.count
        return AdminResponse(columns: Self.streamColumns + Self.streamDetailColumns, rows: [streamRow(stream, nodes: nodes)],
                             message: "In OBS: Settings → Stream → Service: Custom, Server: \(endpoints.rtmpServer), "
                                 + "Stream Key: the key `stream create` printed (`stream rotate-key \(stream.name)` makes a new one)"
                                 + hostWarning(),
                             types: Self.streamTypes + Self.streamDetailTypes)
    }

    /// The listing's cells, then the details.
    private func streamRow(_ stream: StreamRecord, nodes: Int) -> [String] {
        let live = liveness.entry(stream.name)
        return [stream.name, live.state.rawValue, stream.pool.formatted, stream.pool.currency.code, Period.format(stream.periodSeconds),
                "\(nodes)", TimeText.format(stream.createdAt),
                live.state == .offline ? "-" : TimeText.format(live.sinceMs / 1000), "\(stream.pool.minor)", "\(stream.periodSeconds)",
                endpoints.rtmpServer, endpoints.watchURL(stream: stream.name)]
    }

    func deleteStream(_ args: Arguments) throws -> AdminResponse {
        let name = try args.required("name")
        try store.deleteStream(name: name)
        logger.notice("stream \(name) deleted", metadata: ["event": "stream_deleted", "stream": "\(name)"])
        return AdminResponse(message: "stream `\(name)` deleted, with its invites")
    }

    // MARK: - Invites

    func createInvite(_ args: Arguments) throws -> AdminResponse {
        let stream = try args.required("stream")
        let uses = try args.optional("uses").map(InviteRules.parseUses) ?? InviteRules.defaultUses
        let lifetime = try args.optional("expires").map(Period.parse) ?? InviteRules.defaultLifetime
        let pin = try caPin()
        let token = Secret.generate()
        let now = clock()
        let id = try store.createInvite(stream: stream, tokenHash: token.hash, uses: uses, expiresAt: now + lifetime, now: now)
        let line = JoinLine(host: endpoints.host, port: endpoints.rpcPort, stream: stream, token: token.text, caPin: pin)
        logger.notice("invite \(id) for stream \(stream) created", metadata: [
            "event": "invite_created", "stream": "\(stream)", "invite": "\(id)"])
        return AdminResponse(columns: ["id", "stream", "uses", "expires", "join_line"],
                             rows: [["\(id)", stream, "\(uses)", TimeText.format(now + lifetime), line.commandLine]],
                             message: "invite \(id) for `\(stream)`: \(uses) use(s), expires in \(Period.format(lifetime))" + hostWarning(),
                             types: [.integer, .text, .integer, .timestamp, .text])
    }

    func listInvites() throws -> AdminResponse {
        let now = clock()
        return AdminResponse(columns: ["id", "stream", "uses_left", "max_uses", "expires", "state", "created"],
                             rows: try store.invites().map { invite in
                                 let s = invite.state
                                 return ["\(invite.id)", s.stream, "\(s.usesLeft)", "\(s.maxUses)", TimeText.format(s.expiresAt),
                                         s.state(now: now), TimeText.format(s.createdAt)]
                             },
                             types: [.integer, .text, .integer, .integer, .timestamp, .text, .timestamp])
    }

    func revokeInvite(_ args: Arguments) throws -> AdminResponse {
        let text = try args.required("id")
        guard let id = Int64(text), id > 0 else { throw InvalidInput("bad invite id `\(text)`: use the number from `invite list`") }
        let invite = try store.revokeInvite(id: id, now: clock())
        logger.notice("invite \(id) revoked", metadata: ["event": "invite_revoked", "invite": "\(id)"])
        return AdminResponse(message: "invite \(id) for `\(invite.state.stream)` revoked")
    }

    // MARK: - Nodes

    static let nodeColumns = ["node_id", "display_name", "stream", "payout_handle", "enabled", "enrolled",
                              "online", "paused", "last_heartbeat", "viewers", "bytes_served", "address"]
    static let nodeTypes: [ValueType] = [.text, .text, .text, .text, .boolean, .timestamp, .boolean, .boolean, .timestamp,
                                         .integer, .integer, .text]

    /// `activity` nil: none yet. Viewers count only while online; bytes are the last reported.
    private func nodeRow(_ node: NodeRecord, activity: NodeActivity?, live: NodeSessions.Live?, nowMs: Int64) -> [String] {
        let online = activity?.isOnline(nowMs: nowMs, windowMs: onlineWindowMs) ?? false
        let paused = online && (live?.heartbeat.paused ?? false)
        return [node.nodeID, node.displayName, node.stream ?? "-", node.payoutHandle, node.enabled ? "true" : "false",
                TimeText.format(node.enrolledAt), online ? "true" : "false", paused ? "true" : "false",
                activity?.lastHeartbeatMs.map { TimeText.format($0 / 1000) } ?? "-",
                "\(online ? activity?.viewers ?? 0 : 0)", "\(activity?.bytesServed ?? 0)", live?.remoteIP ?? "-"]
    }

    private func liveByNode() -> [String: NodeSessions.Live] {
        Dictionary((sessions?.live() ?? []).map { ($0.node, $0) }, uniquingKeysWith: { a, b in a.receivedMs >= b.receivedMs ? a : b })
    }

    func listNodes() throws -> AdminResponse {
        let activity = try store.nodeActivity(), now = clockMs(), live = liveByNode()
        return AdminResponse(columns: Self.nodeColumns,
                             rows: try store.nodes().map { nodeRow($0, activity: activity[$0.nodeID], live: live[$0.nodeID], nowMs: now) },
                             types: Self.nodeTypes)
    }

    func showNode(_ args: Arguments) throws -> AdminResponse {
        let node = try store.node(id: try args.required("id"))
        let activity = try store.nodeActivity()[node.nodeID]
        let checks = try nodeCheckCells(node.nodeID)
        return AdminResponse(columns: Self.nodeColumns + ["cert_sha256", "invite"] + checks.columns,
                             rows: [nodeRow(node, activity: activity, live: liveByNode()[node.nodeID], nowMs: clockMs())
                                    + [node.certificateSHA256, node.inviteID.map { "\($0)" } ?? "-"] + checks.cells],
                             types: Self.nodeTypes + [.text, node.inviteID == nil ? .null : .integer] + checks.types)
    }

    func setNode(_ args: Arguments, enabled: Bool) throws -> AdminResponse {
        let id = try args.required("id")
        try store.setEnabled(node: id, enabled)
        // Closed after the store says disabled, so a reconnect is already refused.
        let closed = enabled ? 0 : sessions?.disconnect(node: id, reason: ErrorMessage(
            .failedPrecondition, "node \(id) has been disabled by the host")) ?? 0
        logger.notice("node \(id) \(enabled ? "enabled" : "disabled")", metadata: [
            "event": enabled ? "node_enabled" : "node_disabled", "node": "\(id)", "connections_closed": "\(closed)"])
        return AdminResponse(message: enabled ? "node `\(id)` enabled"
            : "node `\(id)` disabled; its certificate is refused from now on" + (closed > 0 ? " (\(closed) live session(s) closed)" : ""))
    }
}
