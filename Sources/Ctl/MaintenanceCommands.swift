import ArgumentParser
import FoundationEssentials
import Glibc
import StreamrConfig
import StreamrStore
import StreamrWire

/// `streamrctl backup FILE`: an online, consistent copy of the daemon's database.
struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy the daemon's database to FILE while it runs (an online, consistent copy).",
        discussion: """
        On a host this is the coordinator's database (streams, keys, nodes, sessions, checks, the \
        ledger); on a friend's machine the node agent's. The copy is made with SQLite's backup API \
        from a read-only connection, so the daemon goes on serving, and is checked (quick_check) \
        before this command says it is done. Needs read access to the database (run as root). \
        Restore: stop the service, replace the database with the copy (owner streamr, mode 0600), \
        start it again.
        """)
    @Argument(help: "Where to write the copy (must not exist).") var file: String
    @Option(help: ArgumentHelp("The database to copy (default: the one the running daemon reports).", valueName: "path"))
    var database: String?
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        try await reportingErrors {
            let source: String
            if let database { source = database } else {
                guard case .status(let status) = try await connection.call(.statusRequest), let path = status[item: "database"] else {
                    throw CtlError.refused("the daemon did not say where its database is; give it with --database PATH")
                }
                source = path
            }
            guard access(file, F_OK) != 0 else { throw CtlError.refused("\(file) exists; choose a new file (nothing was overwritten)") }
            guard access(source, R_OK) == 0 else {
                throw CtlError.permissionDenied("cannot read \(source): run as root")
            }
            do {
                let db = try Database(path: source, readOnly: true)
                try db.backup(to: file)
                chmod(file, 0o600)
                let copy = try Database(path: file, readOnly: true)
                try copy.verifyIntegrity()
            } catch let error as CtlError {
                throw error
            } catch {
                unlink(file)
                throw CtlError.refused("backup failed: \(error)")
            }
            var info = stat()
            let size = stat(file, &info) == 0 ? Int64(info.st_size) : 0
            if connection.json {
                print(JSON.Value.object([("file", .string(file)), ("source", .string(source)), ("bytes", .int(size)),
                                         ("checked", .bool(true))]).render())
            } else {
                print("backed up \(source) to \(file) (\(size) bytes, quick_check ok)")
            }
        }
    }
}

/// `streamrctl pause [--for 2h]` on a friend's machine.
struct PauseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pause",
        abstract: "Pause this node: no viewers are sent here and nothing is relayed, until resumed (friend's machine).",
        discussion: """
        Paused time is scheduled downtime: it does not count against the node's uptime or quality. \
        The pause survives restarts of the agent. `systemctl stop streamr-node` also stops it (and \
        the node then shows as offline).
        """)
    @Option(name: .customLong("for"), help: ArgumentHelp("Resume by itself after this long, e.g. 30m, 2h, 1d.", valueName: "duration"))
    var duration: String?
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        try await reportingErrors {
            print(AdminOutput.message(try await connection.admin(["pause"], [("for", duration)]), json: connection.json))
        }
    }
}

/// `streamrctl resume` on a friend's machine.
struct ResumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "resume", abstract: "Resume a paused node (friend's machine).")
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        try await reportingErrors {
            print(AdminOutput.message(try await connection.admin(["resume"]), json: connection.json))
        }
    }
}
