import ArgumentParser
import Glibc
import StreamrConfig

/// `streamrctl earnings ...`: who earned what and why (on a friend's machine: your own).
struct EarningsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "earnings", abstract: "Earnings per node and period, and every term of them.",
        discussion: """
        On a host: every node's earnings in closed periods, and the open period so far (state \
        `open`: what it would pay if it ended now). On a friend's machine: your node's own, from \
        the host over the node's session, with what is held, payable and paid.

        A node's weight in a period is its verified uptime seconds × its quality; the pool is split \
        by weight with the largest-remainder method so the shares add up exactly. `earnings explain` \
        shows every term.
        """,
        subcommands: [List.self, Explain.self], defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List earnings (the default).")
        @Option(help: "Only this stream.") var stream: String?
        @Option(help: "Only this node.") var node: String?
        @Option(help: ArgumentHelp("How far back, e.g. 24h, 7d (default 24h).", valueName: "duration")) var period: String?
        @Option(help: ArgumentHelp("From this time on, e.g. 2026-12-01T00:00:00Z.", valueName: "time")) var since: String?
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await reportingErrors {
                let response = try await connection.admin(["earnings"], [("stream", stream), ("node", node), ("period", period), ("since", since)])
                print(AdminOutput.list(response, json: connection.json, empty: AdminOutput.notes(response)))
                if !connection.json && !response.rows.isEmpty { print("\n" + AdminOutput.notes(response)) }
            }
        }
    }

    struct Explain: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every term of one node's amount: uptime, checks, quality, weight, share.")
        @Argument(help: "Node id (on a friend's machine: yours, or leave it out).") var node: String?
        @Option(help: "Only this stream.") var stream: String?
        @Option(help: ArgumentHelp("`current` (the open period so far), `last` (default), or a period's start time.", valueName: "period"))
        var period: String?
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await reportingErrors {
                let response = try await connection.admin(["earnings", "explain"], [("node", node), ("stream", stream), ("period", period)])
                print(AdminOutput.message(response, json: connection.json))
            }
        }
    }
}

/// `streamrctl payout ...`: batches a person pays through PayPal or Venmo.
struct PayoutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "payout", abstract: "Plan, create, export and mark paid the payout batches (host).",
        discussion: """
        Earnings are payable once their hold window (`earnings_hold`, default 24h) has passed. \
        `payout create` makes one batch of every payable balance at or above --min; it is \
        idempotent (running it again, or after a crash, makes nothing new). `payout export BATCH \
        --format csv` writes the rows for PayPal's bulk payout upload (Venmo rows go through \
        PayPal as VENMO); `payout mark-paid BATCH` records that they were paid.
        """,
        subcommands: [Plan.self, Create.self, Export.self, MarkPaid.self, List.self, Show.self])

    struct Plan: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Preview the next batch (nothing is written).")
        @Option(help: ArgumentHelp("Smallest amount to pay, e.g. 5.00 (default: anything).", valueName: "amount")) var min: String?
        @Option(help: "Currency of the batch (default: the streams' currency).") var currency: String?
        @OptionGroup var connection: ConnectionOptions
        func run() async throws {
            try await reportingErrors {
                let response = try await connection.admin(["payout", "plan"], [("min", min), ("currency", currency)])
                print(AdminOutput.list(response, json: connection.json, empty: AdminOutput.notes(response)))
                if !connection.json && !response.rows.isEmpty { print("\n" + AdminOutput.notes(response)) }
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a batch of every payable balance above the minimum (idempotent).")
        @Option(help: ArgumentHelp("Smallest amount to pay, e.g. 5.00 (default: anything).", valueName: "amount")) var min: String?
        @Option(help: "Currency of the batch (default: the streams' currency).") var currency: String?
        @OptionGroup var connection: ConnectionOptions
        func run() async throws {
            try await reportingErrors {
                let response = try await connection.admin(["payout", "create"], [("min", min), ("currency", currency)])
                print(AdminOutput.list(response, json: connection.json, empty: AdminOutput.notes(response)))
                if !connection.json && !response.rows.isEmpty { print("\n" + AdminOutput.notes(response)) }
            }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write a batch for PayPal's bulk upload (csv), as JSON, or as a checklist.")
        @Argument(help: "Batch id, from `payout list`.") var batch: String
        @Option(help: "csv (PayPal Payouts upload), json, or checklist (to pay by hand).") var format = "csv"
        @Option(help: ArgumentHelp("Write to this file instead of standard output.", valueName: "path")) var output: String?
        @OptionGroup var connection: ConnectionOptions
        func run() async throws {
            try await reportingErrors {
                let response = try await connection.admin(["payout", "export"], [("batch", batch), ("format", format)])
                if let output {
                    guard TextFile.write(response.message, to: output) else { throw CtlError.refused("cannot write \(output)") }
                    TextFormat.printError("wrote \(output)\n")
                } else {
                    print(response.message, terminator: "")
                }
            }
        }
    }

    struct MarkPaid: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "mark-paid", abstract: "Record that a batch (or some of its rows) was paid.")
        @Argument(help: "Batch id.") var batch: String
        @Option(help: ArgumentHelp("PayPal's batch or transaction id, kept with the entries.", valueName: "ref")) var reference: String?
        @Option(help: ArgumentHelp("Only these nodes' rows (comma-separated).", valueName: "ids")) var node: String?
        @OptionGroup var connection: ConnectionOptions
        func run() async throws {
            try await reportingErrors {
                print(AdminOutput.message(try await connection.admin(["payout", "mark-paid"], [("batch", batch), ("reference", reference), ("node", node)]),
                                          json: connection.json))
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List payout batches.")
        @OptionGroup var connection: ConnectionOptions
        func run() async throws {
            try await reportingErrors {
                print(AdminOutput.list(try await connection.admin(["payout", "list"]), json: connection.json,
                                       empty: "no payout batches yet; `streamrctl payout plan` shows what is payable"))
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one batch's rows and whether each is paid.")
        @Argument(help: "Batch id.") var batch: String
        @OptionGroup var connection: ConnectionOptions
        func run() async throws {
            try await reportingErrors {
                let response = try await connection.admin(["payout", "show"], [("batch", batch)])
                print(AdminOutput.list(response, json: connection.json, empty: "batch \(batch) has no rows"))
                if !connection.json { print("\n" + AdminOutput.notes(response)) }
            }
        }
    }
}

/// `streamrctl ledger verify`.
struct LedgerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ledger", abstract: "Check the append-only ledger (host).",
                                                    subcommands: [Verify.self])
    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recompute every entry's chained hash and every balance; report any row edited by hand.",
            discussion: "Exit 0 when the ledger verifies; 1 with the problems (e.g. `row 12 was changed after it was written`) otherwise.")
        @OptionGroup var connection: ConnectionOptions
        func run() async throws {
            try await reportingErrors {
                print(AdminOutput.message(try await connection.admin(["ledger", "verify"]), json: connection.json))
            }
        }
    }
}

/// Writes a small text file (an export) with one call, mode 0600.
enum TextFile {
    static func write(_ text: String, to path: String) -> Bool {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }
}
