import StreamrConfig
import ArgumentParser
import NIOCore
import FoundationEssentials
import Glibc
import StreamrDaemon
import StreamrRPC
import StreamrWire

/// `streamrctl`: status and administration for hosts and nodes.
public struct CtlCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "streamrctl",
        abstract: "Status and administration for Streamr hosts and nodes.",
        discussion: """
        On a host, streamrctl talks to the coordinator over /run/streamr/control.sock; on a \
        friend's machine, to the node agent over /run/streamr-node/control.sock. Access needs \
        root or membership of the `streamr` group.

        Exit codes: 0 success; 1 the daemon refused the request; 2 the daemon is not running \
        or not reachable; 3 permission denied; 64 usage error.
        """,
        version: StreamrVersion.current,
        subcommands: [StatusCommand.self, StreamCommand.self, InviteCommand.self, NodeCommand.self, NodesCommand.self,
                      LeaderboardCommand.self, ChecksCommand.self, FraudCommand.self, EarningsCommand.self, PayoutCommand.self,
                      LedgerCommand.self, PauseCommand.self, ResumeCommand.self, BackupCommand.self])

    public init() {}
}

/// Where streamrctl finds a daemon, and the options every subcommand shares.
public struct ConnectionOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Control socket (default: the host's coordinator, else the local node agent).", valueName: "path"))
    public var socket: String?

    @Flag(name: .long, help: "Print JSON instead of a table.")
    public var json = false

    public init() {}

    public static let hostSocket = "/run/streamr/control.sock"
    public static let nodeSocket = "/run/streamr-node/control.sock"

    public var socketPath: String {
        if let socket { return socket }
        if FileManager.default.fileExists(atPath: Self.hostSocket) { return Self.hostSocket }
        if FileManager.default.fileExists(atPath: Self.nodeSocket) { return Self.nodeSocket }
        // Neither is listening: a friend's machine (streamr-node installed, not streamr-host) means the agent.
        if NoDaemon.installed(NoDaemon.nodeBinary) && !NoDaemon.installed(NoDaemon.hostBinary) { return Self.nodeSocket }
        return Self.hostSocket
    }

    /// Sends one request and returns the answer, mapping failures to clear messages and exit codes.
    public func call(_ body: Envelope.Body) async throws -> Envelope.Body {
        let path = socketPath
        guard FileManager.default.fileExists(atPath: path) else {
            throw CtlError.unavailable(NoDaemon.message(path: path, explicit: socket != nil))
        }
        do {
            return try await RPCClient.withConnection(to: .unix(path: path), pipeline: RPCPipeline()) { connection in
                try await connection.request(body, timeout: .seconds(15))
            }
        } catch let error as ErrorMessage {
            if error.code == .permissionDenied { throw CtlError.permissionDenied(error.message) }
            throw CtlError.refused(error.message)
        } catch let error as IOError where error.errnoCode == EACCES {
            throw CtlError.permissionDenied("permission denied on \(path): run as root or as a member of the `streamr` group")
        } catch let error as IOError where error.errnoCode == ECONNREFUSED || error.errnoCode == ENOENT {
            // A socket file nobody listens on (the unit stopped as we connected).
            throw CtlError.unavailable(NoDaemon.message(path: path, explicit: socket != nil))
        } catch let error as CtlError {
            throw error
        } catch {
            throw CtlError.unavailable("cannot reach the daemon at \(path): \(error)")
        }
    }
}

/// What to say when no daemon listens at a control socket, by what is installed here: on a
/// friend's machine the agent is stopped (its socket stops with it) or has not joined yet; on a
/// host the sockets of streamr.target are stopped.
public enum NoDaemon {
    public static let nodeBinary = "/usr/sbin/streamr-node"
    public static let hostBinary = "/usr/sbin/streamr-coordinator"
    public static let nodeState = "/var/lib/streamr-node"
    public static let nodeIdentity = "/var/lib/streamr-node/identity.conf"

    static func installed(_ path: String) -> Bool { access(path, X_OK) == 0 }

    public static func message(path: String, explicit: Bool) -> String {
        message(path: path, explicit: explicit, hostInstalled: installed(hostBinary), nodeInstalled: installed(nodeBinary),
                nodeJoined: access(nodeState, R_OK | X_OK) == 0 ? access(nodeIdentity, F_OK) == 0 : nil)
    }

    /// `nodeJoined`: nil when the state directory cannot be read (not root, not in group streamr).
    public static func message(path: String, explicit: Bool, hostInstalled: Bool, nodeInstalled: Bool, nodeJoined: Bool?) -> String {
        if path == ConnectionOptions.nodeSocket && nodeInstalled {
            if nodeJoined == false {
                return "streamr-node has not joined a host yet: run the line the host gave you "
                    + "(`streamr-node join 'streamr://...'`, from their `streamrctl invite create`), then `systemctl enable --now streamr-node`"
            }
            return "streamr-node is stopped: `systemctl start streamr-node`"
        }
        if path == ConnectionOptions.hostSocket && hostInstalled {
            return "the Streamr host is stopped (nothing listens on \(path)): `systemctl start streamr.target`"
        }
        if explicit { return "no Streamr daemon listens on \(path): it is not running, or it uses another socket" }
        return "no Streamr daemon is running here (no socket at \(path)); on a host: `systemctl start streamr.target`, "
            + "on a friend's machine: `systemctl start streamr-node`"
    }
}

public enum CtlError: Error, CustomStringConvertible {
    case refused(String), unavailable(String), permissionDenied(String)

    public var description: String {
        switch self {
        case .refused(let m), .unavailable(let m), .permissionDenied(let m): m
        }
    }

    var exitCode: Int32 {
        switch self {
        case .refused: 1
        case .unavailable: 2
        case .permissionDenied: 3
        }
    }
}

/// Runs a subcommand body, printing CtlErrors as `streamrctl: message` with their exit code.
func reportingErrors(_ body: () async throws -> Void) async throws {
    do { try await body() } catch let error as CtlError {
        TextFormat.printError("streamrctl: \(error)\n")
        throw ExitCode(error.exitCode)
    }
}

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show the daemon's status.")
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        try await reportingErrors {
            guard case .status(let status) = try await connection.call(.statusRequest) else {
                throw CtlError.refused("unexpected answer to a status request")
            }
            print(StatusView.render(status, json: connection.json))
        }
    }
}

public enum StatusView {
    public static func render(_ status: Status, json: Bool) -> String {
        if json {
            return JSON.Value.object([
                ("software", .string(status.software)),
                ("role", .string("\(status.role)")),
                ("uptime_seconds", .uint(status.uptimeSeconds)),
                ("items", .object(status.items.map { ($0.key, JSON.typed($0.value, $0.type)) })),
            ]).render()
        }
        return Table.renderPairs([("software", status.software), ("role", "\(status.role)"),
                                  ("uptime", "\(status.uptimeSeconds)s")] + status.items.map { ($0.key, $0.value) })
    }
}
