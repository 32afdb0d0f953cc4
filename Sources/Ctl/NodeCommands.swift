import ArgumentParser

/// `streamrctl node ...`: friends' nodes enrolled with this host.
struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node", abstract: "List, show, disable and enable enrolled nodes.",
        subcommands: [List.self, Show.self, Disable.self, Enable.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List enrolled nodes, online or not (also `streamrctl nodes`).")
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await reportingErrors {
                print(AdminOutput.list(try await connection.admin(["node", "list"]), json: connection.json,
                                       empty: "no nodes have joined yet; send a friend `streamrctl invite create STREAM`"))
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one node.",
            discussion: "With its spot checks over the last 24 h: quality (the score /watch routes by, 0 to 1), checks passed "
                + "and failed, the failures' reasons (reason=count), open fraud flags and their reasons, and this period's claims "
                + "(bytes served, viewers) beside what was counted of them. `streamrctl checks --node ID` lists the checks.")
        @Argument(help: "Node id, e.g. node-0123456789ab.") var id: String
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await reportingErrors {
                print(AdminOutput.show(try await connection.admin(["node", "show"], [("id", id)]), json: connection.json))
            }
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Disable a node: its certificate is refused from now on.",
            discussion: """
            Its session with the coordinator ends, /watch sends it no viewers, and the ingest cuts \
            off its subscription within `authorization_recheck` (30 s by default; see ingest.conf). \
            Use it for a node whose key may be compromised: the key is useless from then on.
            """)
        @Argument(help: "Node id.") var id: String
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await reportingErrors {
                print(AdminOutput.message(try await connection.admin(["node", "disable"], [("id", id)]), json: connection.json))
            }
        }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enable a disabled node again.")
        @Argument(help: "Node id.") var id: String
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await reportingErrors {
                print(AdminOutput.message(try await connection.admin(["node", "enable"], [("id", id)]), json: connection.json))
            }
        }
    }
}

/// `streamrctl nodes`: the same as `node list` (online, last heartbeat, viewers, bytes served).
struct NodesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nodes", abstract: "List enrolled nodes: online, last heartbeat, viewers, bytes served (= node list).")
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        try await reportingErrors {
            print(AdminOutput.list(try await connection.admin(["node", "list"]), json: connection.json,
                                   empty: "no nodes have joined yet; send a friend `streamrctl invite create STREAM`"))
        }
    }
}

/// `streamrctl leaderboard`: nodes ranked by verified uptime.
struct LeaderboardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "leaderboard",
        abstract: "Rank nodes by verified uptime over a period.",
        discussion: """
        Uptime is from heartbeats: an interval runs from a node's first to its last heartbeat \
        for a stream, and a gap of over three heartbeat intervals ends it. A node relaying \
        several streams at once is counted once. Quality is the node's spot-check score now \
        (0 to 1: a decaying pass rate, 0 for an hour after altered bytes), the one /watch routes \
        by; checks and checks_failed count the validator's checks in the period; flagged says \
        whether a fraud flag was raised in it.
        """)
    @Option(help: "Only uptime relaying this stream.") var stream: String?
    @Option(help: "How far back to look, e.g. 1h, 24h, 7d (default: the stream's accounting period with --stream, else 24h).")
    var period: String?
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        try await reportingErrors {
            var args: [(String, String)] = []
            if let stream { args.append(("stream", stream)) }
            if let period { args.append(("period", period)) }
            print(AdminOutput.list(try await connection.admin(["leaderboard"], args), json: connection.json,
                                   empty: "no verified uptime in this period yet"))
        }
    }
}
