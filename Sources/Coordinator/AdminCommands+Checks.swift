import CoordinatorCore
import StreamrConfig
import StreamrRPC
import StreamrWire

/// The validator's commands on the control socket (`validator targets|pin`), and the admin's
/// view of its work: `checks`, `fraud list`, `fraud clear`, and the check columns of `node show`
/// and `leaderboard`.
extension AdminService {
    /// Answers the commands of this file; nil for any other command.
    func checkCommand(_ request: AdminRequest, _ args: Arguments, connection: RPCConnection?) throws -> AdminResponse? {
        switch request.command {
        case ["validator", "targets"]:
            var answer = try requireValidator().targets(request, connection: connection)
            // Browsers send the watch page's origin (Origin, Referer); probes copy them.
            let host = endpoints.host.contains(":") ? "[\(endpoints.host)]" : endpoints.host
            answer.message += " page_origin=http://\(host):\(endpoints.httpPort)"
            return answer
        case ["validator", "pin"]: return try requireValidator().pin(request)
        case ["checks"]: return try listChecks(args)
        case ["fraud", "list"]: return try listFlags(args)
        case ["fraud", "clear"]: return try clearFlag(args)
        default: return nil
        }
    }

    private func requireValidator() throws -> ValidatorDesk {
        guard let validator else { throw ErrorMessage(.unavailable, "this coordinator takes no validator") }
        return validator
    }

    /// A SpotCheckReport on the control socket: only from root or the coordinator's own user
    /// (the validator runs as it), not from any member of group streamr, who may read checks
    /// but not write them.
    func spotCheckReport(_ report: SpotCheckReport, connection: RPCConnection) throws -> AdminResponse {
        guard let credentials = connection.peer.credentials, credentials.uid == 0 || credentials.uid == ownUID else {
            throw ErrorMessage(.permissionDenied, "spot check results are taken from the validator only (root or the service user)")
        }
        do { return try requireValidator().report(report) } catch let error as ErrorMessage { throw error } catch {
            throw Self.errorMessage(for: error)
        }
    }

    // MARK: - checks

    static let checkColumns = ["checked", "node_id", "stream", "kind", "verdict", "passed", "reason", "chunk", "ttfb_ms",
                               "throughput_bps", "bytes", "via_watch", "report_id"]
    static let checkTypes: [ValueType] = [.timestamp, .text, .text, .text, .text, .boolean, .text, .text, .integer, .integer,
                                          .integer, .boolean, .integer]

    /// `checks [node=ID] [stream=S] [failed=true] [since=1h] [limit=50]`, newest first.
    func listChecks(_ args: Arguments) throws -> AdminResponse {
        let limit = try args.optional("limit").map { text -> Int in
            guard let n = Int(text), (1...10_000).contains(n) else { throw InvalidInput("--limit takes 1 to 10000, got `\(text)`") }
            return n
        } ?? 50
        let since = try args.optional("since").map { clockMs() - (try Period.parse($0)) * 1000 }
        if let node = args.optional("node") { _ = try store.node(id: node) }
        let rows = try store.checks(node: args.optional("node"), stream: args.optional("stream"),
                                    failedOnly: args.optional("failed") == "true", sinceMs: since, limit: limit).map { c -> [String] in
            [TimeText.format(c.checkedMs / 1000), c.nodeID, c.stream, c.kind, c.verdict, c.passed ? "true" : "false", c.reason,
             c.chunkSeq.map { "\(String(c.chainID, radix: 16))-\($0)" } ?? "-", c.ttfbMs.map { "\($0)" } ?? "-",
             c.throughputBps.map { "\($0)" } ?? "-", "\(c.bytes)", c.viaWatch ? "true" : "false", "\(c.reportID)"]
        }
        return AdminResponse(columns: Self.checkColumns, rows: rows, types: Self.checkTypes)
    }

    // MARK: - fraud

    static let flagColumns = ["id", "node_id", "display_name", "stream", "at", "reason", "evidence", "cleared", "note"]
    static let flagTypes: [ValueType] = [.integer, .text, .text, .text, .timestamp, .text, .text, .timestamp, .text]

    /// `fraud list [all=true] [node=ID]`: open flags (with `all`, cleared ones too), newest first.
    func listFlags(_ args: Arguments) throws -> AdminResponse {
        let names = Dictionary(try store.nodes(includingPending: true).map { ($0.nodeID, $0.displayName) }, uniquingKeysWith: { a, _ in a })
        let rows = try store.fraudFlags(includingCleared: args.optional("all") == "true", node: args.optional("node")).map { f in
            ["\(f.id)", f.nodeID, names[f.nodeID] ?? "?", f.stream, TimeText.format(f.atMs / 1000), f.reason, f.evidence,
             f.clearedMs.map { TimeText.format($0 / 1000) } ?? "-", f.clearedNote ?? "-"]
        }
        return AdminResponse(columns: Self.flagColumns, rows: rows, types: Self.flagTypes)
    }

    /// `fraud clear id=N note=TEXT`: a person judged the flag a false alarm. The flag stays on
    /// record with the note; the node earns for that period again (the earnings engine skips
    /// cleared flags), and evidence before now is not counted again.
    func clearFlag(_ args: Arguments) throws -> AdminResponse {
        let text = try args.required("id")
        guard let id = Int64(text), id > 0 else { throw InvalidInput("bad flag id `\(text)`: use the number from `fraud list`") }
        let note = try args.required("note")
        guard note.utf8.count <= 500 else { throw InvalidInput("a note is at most 500 bytes") }
        let flag: FraudFlagRecord
        do { flag = try store.clearFlag(id: id, note: note, atMs: clockMs()) } catch let error as CheckStoreError {
            switch error {
            case .unknownFlag: throw ErrorMessage(.notFound, error.description)
            case .alreadyCleared: throw ErrorMessage(.failedPrecondition, error.description)
            }
        }
        validator?.forgive(flag)
        logger.notice("fraud flag \(id) of node \(flag.nodeID) cleared: \(note)", metadata: [
            "event": "fraud_cleared", "node": "\(flag.nodeID)", "stream": "\(flag.stream)", "reason": "\(flag.reason)", "flag": "\(id)"])
        return AdminResponse(columns: Self.flagColumns, rows: [["\(flag.id)", flag.nodeID, (try? store.node(id: flag.nodeID).displayName) ?? "?",
                                                               flag.stream, TimeText.format(flag.atMs / 1000), flag.reason, flag.evidence,
                                                               TimeText.format((flag.clearedMs ?? 0) / 1000), note]],
                             message: "fraud flag \(id) (\(flag.reason), node \(flag.nodeID)) cleared: \(note)", types: Self.flagTypes)
    }

    // MARK: - node show and leaderboard

    /// `node show`'s spot-check columns: over the last 24 h, checks passed and failed with
    /// the failures' reasons, the routing quality now, open fraud flags, and this period's
    /// claims as counted.
    func nodeCheckCells(_ node: String) throws -> (columns: [String], types: [ValueType], cells: [String]) {
        let now = clockMs()
        let summary = try store.checkSummary(sinceMs: now - 86_400_000, node: node)[node]
        let reasons = (summary?.reasons ?? [:]).sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            .map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        let flags = try store.fraudFlags(node: node)
        let counted = validator?.counted(node: node) ?? []
        let claimed = counted.reduce(UInt64(0)) { $0 + $1.claimedBytes }
        let countedBytes = counted.allSatisfy({ $0.countedBytes != nil }) && !counted.isEmpty
            ? "\(counted.reduce(UInt64(0)) { $0 + ($1.countedBytes ?? 0) })" : "-"
        let countedViewers = counted.allSatisfy({ $0.countedViewers != nil }) && !counted.isEmpty
            ? "\(counted.reduce(UInt32(0)) { $0 + ($1.countedViewers ?? 0) })" : "-"
        return (["quality", "checks_passed", "checks_failed", "failure_reasons", "fraud_flags", "flag_reasons",
                 "period_bytes_claimed", "period_bytes_counted", "period_viewers_claimed", "period_viewers_sent", "period_viewers_counted"],
                [.number, .integer, .integer, .text, .integer, .text, .integer, .integer, .integer, .integer, .integer],
                [TextFormat.fixed(validator?.score(node: node, nowMs: now) ?? 1, places: 3), "\(summary?.passed ?? 0)",
                 "\((summary?.checks ?? 0) - (summary?.passed ?? 0))", reasons.isEmpty ? "-" : reasons, "\(flags.count)",
                 flags.isEmpty ? "-" : Set(flags.map(\.reason)).sorted().joined(separator: ","),
                 counted.isEmpty ? "-" : "\(claimed)", countedBytes,
                 counted.isEmpty ? "-" : "\(counted.reduce(UInt32(0)) { $0 + $1.peakViewers })",
                 counted.isEmpty ? "-" : "\(counted.reduce(UInt32(0)) { $0 + $1.viewersSent })", countedViewers])
    }

    /// The leaderboard's spot-check columns per node over [fromMs, now].
    func leaderboardCheckCells(fromMs: Int64, stream: String?) throws -> (columns: [String], types: [ValueType], cells: (String) -> [String]) {
        let now = clockMs()
        let summary = try store.checkSummary(sinceMs: fromMs, stream: stream)
        let flagged = Set(try store.fraudFlags().filter { $0.atMs >= fromMs && (stream == nil || $0.stream == stream) }.map(\.nodeID))
        let validator = self.validator
        return (["quality", "checks", "checks_failed", "flagged"], [.number, .integer, .integer, .boolean], { node in
            let s = summary[node]
            return [TextFormat.fixed(validator?.score(node: node, nowMs: now) ?? 1, places: 3), "\(s?.checks ?? 0)",
                    "\((s?.checks ?? 0) - (s?.passed ?? 0))", flagged.contains(node) ? "true" : "false"]
        })
    }
}
