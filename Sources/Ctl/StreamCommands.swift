import ArgumentParser

/// `streamrctl stream ...`: the streams this host carries, and their OBS keys.
struct StreamCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stream", abstract: "Create, list, show, re-key and delete streams.",
        subcommands: [Create.self, List.self, Show.self, RotateKey.self, Delete.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a stream and print its RTMP URL and key for OBS (shown once).",
            discussion: "The pool is shared among the stream's nodes each period, by verified uptime and quality.")
        @Argument(help: "Stream name: lower-case letters, digits, - and _.") var name: String
        @Option(help: ArgumentHelp("Reward pool per period, e.g. 1000.00.", valueName: "amount")) var pool: String?
        @Option(help: ArgumentHelp("Accounting period, e.g. 30m, 1h, 1d (default 1h).", valueName: "duration")) var per: String?
        @Option(help: ArgumentHelp("Currency of the pool, e.g. USD, EUR (default USD).", valueName: "code")) var currency: String?
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await reportingErrors {
                let response = try await connection.admin(["stream", "create"], [
                    ("name", name), ("pool", pool), ("per", per), ("currency", currency)])
                print(AdminOutput.streamKey(response, json: connection.json))
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List streams.")
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await reportingErrors {
                let response = try await connection.admin(["stream", "list"])
                print(AdminOutput.list(response, json: connection.json,
                                       empty: "no streams yet; create one with `streamrctl stream create NAME`"))
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one stream.")
        @Argument(help: "Stream name.") var name: String
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await reportingErrors {
                print(AdminOutput.show(try await connection.admin(["stream", "show"], [("name", name)]), json: connection.json))
            }
        }
    }

    struct RotateKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-key", abstract: "Replace a stream's key (the old key stops working) and print the new one.",
            discussion: """
            Whoever publishes with the old key (a stolen key's user too) is cut off within the \
            ingest's `authorization_recheck` (30 s by default). Put the new key in OBS and start \
            streaming again.
            """)
        @Argument(help: "Stream name.") var name: String
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await reportingErrors {
                let response = try await connection.admin(["stream", "rotate-key"], [("name", name)])
                print(AdminOutput.streamKey(response, json: connection.json))
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a stream and its invites (enrolled nodes stay).")
        @Argument(help: "Stream name.") var name: String
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await reportingErrors {
                print(AdminOutput.message(try await connection.admin(["stream", "delete"], [("name", name)]), json: connection.json))
            }
        }
    }
}
