import StreamrConfig
import ArgumentParser
import FoundationEssentials
import Glibc

/// `streamrctl invite ...`: join lines for friends' nodes.
struct InviteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "invite", abstract: "Create, list and revoke invites for nodes.",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an invite and print the one line a friend runs to join.",
            discussion: "Only the join line goes to stdout (so `LINE=$(streamrctl invite create main)` works); the summary goes to stderr.")
        @Argument(help: "Stream the node will carry.") var stream: String
        // Unconditional, so `--uses -1` reaches the coordinator and is refused with a reason.
        @Option(parsing: .unconditional, help: ArgumentHelp("How many nodes may join with it (default 1).", valueName: "n")) var uses: String?
        @Option(help: ArgumentHelp("Lifetime, e.g. 30m, 24h, 7d (default 24h).", valueName: "duration")) var expires: String?
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await reportingErrors {
                let response = try await connection.admin(["invite", "create"], [
                    ("stream", stream), ("uses", uses), ("expires", expires)])
                if connection.json {
                    print(AdminOutput.show(response, json: true))
                } else {
                    let line = response.columns.firstIndex(of: "join_line").flatMap { response.rows.first?[$0] } ?? ""
                    TextFormat.printError("\(response.message); on the friend's machine run:\n")
                    print(line)
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List invites (their tokens are never shown again).")
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await reportingErrors {
                print(AdminOutput.list(try await connection.admin(["invite", "list"]), json: connection.json,
                                       empty: "no invites; create one with `streamrctl invite create STREAM`"))
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke an invite so no one else can join with it.")
        @Argument(help: "Invite id, from `streamrctl invite list`.") var id: String
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await reportingErrors {
                print(AdminOutput.message(try await connection.admin(["invite", "revoke"], [("id", id)]), json: connection.json))
            }
        }
    }
}
