import StreamrConfig
import CoordinatorCore
import FoundationEssentials
import Glibc
import Logging
import StreamrRPC
import StreamrWire

/// The host commands behind streamrctl (`stream ...`, `invite ...`, `node ...`), answered
/// on the control socket after BaseHandler.adminHandler has checked the peer's credentials.
public struct AdminService: Sendable {
    let store: CoordinatorStore
    let endpoints: PublicEndpoints
    /// The CA pin for join lines; read when needed so a missing CA is reported per command.
    let caPin: @Sendable () throws -> String
    let clock: @Sendable () -> Int64
    let clockMs: @Sendable () -> Int64
    /// A node is online while its last heartbeat is at most this old (3 heartbeat intervals).
    let onlineWindowMs: Int64
    /// Connected nodes (absent in tests of the store-only commands): `node disable` closes them.
    let sessions: NodeSessions?
    /// Which streams are live, as the ingest says.
    public let liveness: StreamLiveness
    /// The earnings engine (its previews of open periods); nil in tests of other commands.
    let earningsEngine: EarningsService?
    /// The validator's side (absent in tests of the other commands): targets, pins, results.
    let validator: ValidatorDesk?
    /// The coordinator's own user: the validator runs as it (SpotCheckReports come from it or root).
    let ownUID = geteuid()
    let logger: Logger

    public init(store: CoordinatorStore, endpoints: PublicEndpoints, caPin: @escaping @Sendable () throws -> String,
                clock: @escaping @Sendable () -> Int64 = CoordinatorStore.now,
                clockMs: @escaping @Sendable () -> Int64 = CoordinatorStore.nowMs,
                heartbeatIntervalMs: Int64 = 5000, sessions: NodeSessions? = nil,
                liveness: StreamLiveness = StreamLiveness(), earnings: EarningsService? = nil, validator: ValidatorDesk? = nil,
                logger: Logger) {
        self.store = store; self.endpoints = endpoints; self.caPin = caPin; self.clock = clock; self.logger = logger
        self.sessions = sessions; self.liveness = liveness; self.earningsEngine = earnings; self.validator = validator
        self.clockMs = clockMs; self.onlineWindowMs = 3 * heartbeatIntervalMs
    }

    /// Enrolled nodes online now.
    public func nodesOnline() throws -> Int {
        let now = clockMs()
        return try store.nodeActivity().values.filter { $0.isOnline(nowMs: now, windowMs: onlineWindowMs) }.count
    }

    /// An RPC handler for `adminRequest`s (other bodies are not served here).
    public var handler: RPCConnection.Handler {
        { envelope, connection in
            if case .spotCheckReport(let report) = envelope.body {
                return .adminResponse(try self.spotCheckReport(report, connection: connection))
            }
            guard case .adminRequest(let request) = envelope.body else {
                throw ErrorMessage(.unsupported, "\(envelope.body.name) is not served on the control socket")
            }
            return .adminResponse(try self.handle(request, connection: connection))
        }
    }

    /// Runs one command; every failure becomes an ErrorMessage with a code and a clear text.
    /// `connection` is who asked (the ingest's publish reports are bound to its connection).
    public func handle(_ request: AdminRequest, connection: RPCConnection? = nil) throws -> AdminResponse {
        do {
            return try dispatch(request, connection: connection)
        } catch let error as ErrorMessage {
            throw error
        } catch {
            let message = Self.errorMessage(for: error)
            if message.code == .internalError {
                logger.error("admin command `\(request.command.joined(separator: " "))` failed: \(error)",
                             metadata: ["event": "admin_failed"])
            }
            throw message
        }
    }

    /// Maps domain errors to wire codes.
    static func errorMessage(for error: any Error) -> ErrorMessage {
        switch error {
        case let error as InvalidInput:
            return ErrorMessage(.invalidArgument, error.message)
        case let error as CoordinatorStoreError:
            switch error {
            case .unknownStream, .unknownInvite, .unknownNode: return ErrorMessage(.notFound, error.description)
            case .streamExists: return ErrorMessage(.alreadyExists, error.description)
            case .inviteRefused(.unknown): return ErrorMessage(.unauthenticated, error.description)
            case .inviteRefused: return ErrorMessage(.failedPrecondition, error.description)
            }
        default:
            return ErrorMessage(.internalError, "internal error: \(error)")
        }
    }

    private func dispatch(_ request: AdminRequest, connection: RPCConnection?) throws -> AdminResponse {
        let args = Arguments(request)
        if request.command.first == "publish", request.command != ["publish", "authorize"] {
            guard let connection else { throw ErrorMessage(.failedPrecondition, "publish reports come from the ingest's connection") }
            return try publishReport(request.command, args, connection: connection)
        }
        if let answer = try checkCommand(request, args, connection: connection) { return answer }
        switch request.command {
        case ["stream", "create"]: return try createStream(args)
        case ["stream", "list"]: return try listStreams()
        case ["stream", "show"]: return try showStream(args)
        case ["stream", "rotate-key"]: return try rotateKey(args)
        case ["stream", "delete"]: return try deleteStream(args)
        case ["invite", "create"]: return try createInvite(args)
        case ["invite", "list"]: return try listInvites()
        case ["invite", "revoke"]: return try revokeInvite(args)
        case ["node", "list"]: return try listNodes()
        case ["node", "show"]: return try showNode(args)
        case ["node", "disable"]: return try setNode(args, enabled: false)
        case ["node", "enable"]: return try setNode(args, enabled: true)
        case ["leaderboard"]: return try leaderboard(args)
        case ["earnings"]: return try earnings(args)
        case ["earnings", "explain"]: return try explainEarnings(args)
        case ["payout", "plan"]: return try payoutPlan(args)
        case ["payout", "create"]: return try payoutCreate(args)
        case ["payout", "export"]: return try payoutExport(args)
        case ["payout", "mark-paid"]: return try payoutMarkPaid(args)
        case ["payout", "list"]: return try payoutList()
        case ["payout", "show"]: return try payoutShow(args)
        case ["ledger", "verify"]: return try ledgerVerify()
        case ["publish", "authorize"]: return try authorizePublish(args)
        case ["subscribe", "authorize"]: return try authorizeSubscription(args)
        default:
            throw ErrorMessage(.unsupported, "unknown command `\(request.command.joined(separator: " "))` (is streamrctl newer than the coordinator?)")
        }
    }
}

/// Named arguments of an AdminRequest, with "missing" reported clearly.
struct Arguments {
    let request: AdminRequest
    init(_ request: AdminRequest) { self.request = request }

    func required(_ name: String) throws -> String {
        guard let value = request[argument: name], !value.isEmpty else { throw InvalidInput("missing argument `\(name)`") }
        return value
    }

    func optional(_ name: String) -> String? {
        request[argument: name].flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// Times in listings: UTC, to the second, sortable.
enum TimeText {
    static func format(_ unixSeconds: Int64) -> String {
        TextFormat.timestamp(unixSeconds: unixSeconds)
    }

    static func parse(_ text: String) -> Int64? { TextFormat.parseTimestamp(text) }
}
