import ArgumentParser

/// `streamrctl checks`: the validator's spot checks, as the coordinator stored them.
struct ChecksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checks",
        abstract: "List the validator's spot checks of nodes, newest first.",
        discussion: """
        The validator checks every node that relays a stream at random times, as a viewer would: \
        a byte range or a whole chunk from /chunks, a few seconds of HTTP-FLV, an HLS playlist and \
        segment, at the address the coordinator sees on the node's session or through /watch. Each \
        row is one check: when, which node and stream, the kind, the verdict (passed; failed: not \
        served as a viewer needs it; altered: bytes that are not the ingest's; stale: genuine but \
        behind the live edge), the reason (ok, http_404, timeout_first_byte, bytes_differ, \
        digest_differs, behind_live_edge, playlist_behind, ...), the chunk (<chain>-<seq>), time \
        to first byte, throughput and bytes. Failures are also in the validator's journal: \
        journalctl -u streamr-validator STREAMR_EVENT=spot_check_failed.
        """)
    @Option(help: "Only this node's checks.") var node: String?
    @Option(help: "Only checks of this stream.") var stream: String?
    @Flag(help: "Only checks that did not pass (failed, altered or stale).") var failed = false
    @Option(help: "Only checks of the last DURATION, e.g. 10m, 1h, 7d.") var since: String?
    @Option(help: "At most this many rows (1-10000, default 50).") var limit: Int?
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        try await reportingErrors {
            print(AdminOutput.list(try await connection.admin(["checks"], [
                ("node", node), ("stream", stream), ("failed", failed ? "true" : nil), ("since", since), ("limit", limit.map { "\($0)" }),
            ]), json: connection.json, empty: failed ? "no failed checks" : "no checks yet (is streamr-validator running?)"))
        }
    }
}

/// `streamrctl fraud ...`: fraud flags (a flagged node earns nothing for the period).
struct FraudCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fraud", abstract: "List and clear fraud flags.",
        discussion: """
        A node is flagged for a stream's accounting period (and earns nothing for it) when a \
        spot check got bytes that are not the ingest's (altered: one is evidence enough, since TCP \
        does not corrupt silently), when it served old data repeatedly (stale: at least 3 and 20% \
        of its live checks), or when another identity on the same machine or address enrolled \
        first (sybil, as the coordinator's sybil_policy says; the earliest enrolled earns). Claims \
        of bytes and viewers beyond what is plausible are not flagged but capped (node show, and \
        STREAMR_EVENT=claim_capped in the coordinator's journal).
        """,
        subcommands: [List.self, Clear.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List open fraud flags, newest first.",
            discussion: "Each row: the flag's id, the node, the stream, when, the reason (altered, stale, sybil) and the evidence "
                + "(the check that proved it, or the identity that earns instead). --all adds cleared flags with their note.")
        @Flag(help: "Cleared flags too.") var all = false
        @Option(help: "Only this node's flags.") var node: String?
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await reportingErrors {
                print(AdminOutput.list(try await connection.admin(["fraud", "list"], [("all", all ? "true" : nil), ("node", node)]),
                                       json: connection.json, empty: all ? "no fraud flags" : "no open fraud flags"))
            }
        }
    }

    struct Clear: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Clear a fraud flag you judged a false alarm.",
            discussion: "The flag stays on record with the time and your note; the node earns for that period again, and "
                + "evidence from before the clearing is not counted again. A cleared flag cannot be cleared twice.")
        @Argument(help: "The flag's id (from `streamrctl fraud list`).") var id: String
        @Option(help: "Why it is cleared (kept with the flag).") var note: String
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await reportingErrors {
                print(AdminOutput.message(try await connection.admin(["fraud", "clear"], [("id", id), ("note", note)]), json: connection.json))
            }
        }
    }
}
