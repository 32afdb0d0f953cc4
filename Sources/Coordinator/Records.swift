import CoordinatorCore
import StreamrStore

/// One stream as stored.
public struct StreamRecord: Sendable, Equatable {
    public var name: String
    public var pool: Amount
    public var periodSeconds: Int64
    public var createdAt: Int64

    init(row: Row) throws {
        name = row.string("name") ?? ""
        let currency = try Currency.parse(row.string("currency") ?? "")
        pool = Amount(minor: row.int64("pool_minor") ?? 0, currency: currency)
        periodSeconds = row.int64("period_seconds") ?? 0
        createdAt = row.int64("created_at") ?? 0
    }
}

/// One invite as stored (never its token, which only the person invited has).
public struct InviteRecord: Sendable, Equatable {
    public var id: Int64
    public var state: InviteState

    init(row: Row) {
        id = row.int64("id") ?? 0
        state = InviteState(stream: row.string("stream") ?? "", usesLeft: row.int64("uses_left") ?? 0,
                            maxUses: row.int64("max_uses") ?? 0, expiresAt: row.int64("expires_at") ?? 0,
                            revokedAt: row.int64("revoked_at"), createdAt: row.int64("created_at") ?? 0)
    }
}

/// One enrolled node.
public struct NodeRecord: Sendable, Equatable {
    public var nodeID: String
    public var displayName: String
    public var payoutHandle: String
    public var stream: String?
    public var enabled: Bool
    /// SHA-256 hex of the DER of the certificate issued at enrolment.
    public var certificateSHA256: String
    public var inviteID: Int64?
    public var enrolledAt: Int64
    /// Enrolled, but the join is not confirmed yet.
    public var pending: Bool

    public init(nodeID: String, displayName: String, payoutHandle: String, stream: String?, enabled: Bool = true,
                certificateSHA256: String, inviteID: Int64?, enrolledAt: Int64, pending: Bool = false) {
        self.nodeID = nodeID; self.displayName = displayName; self.payoutHandle = payoutHandle; self.stream = stream
        self.enabled = enabled; self.certificateSHA256 = certificateSHA256; self.inviteID = inviteID; self.enrolledAt = enrolledAt
        self.pending = pending
    }

    init(row: Row) {
        self.init(nodeID: row.string("node_id") ?? "", displayName: row.string("display_name") ?? "",
                  payoutHandle: row.string("payout_handle") ?? "", stream: row.string("stream"),
                  enabled: row.bool("enabled") ?? false, certificateSHA256: row.string("cert_sha256") ?? "",
                  inviteID: row.int64("invite_id"), enrolledAt: row.int64("enrolled_at") ?? 0,
                  pending: row.bool("pending") ?? false)
    }
}

/// Failures a caller can act on; everything else is an internal error.
public enum CoordinatorStoreError: Error, Equatable, Sendable, CustomStringConvertible {
    case unknownStream(String)
    case streamExists(String)
    case unknownInvite(Int64)
    case unknownNode(String)
    case inviteRefused(InviteRefusal)

    public var description: String {
        switch self {
        case .unknownStream(let name): "unknown stream `\(name)`"
        case .streamExists(let name): "a stream named `\(name)` already exists"
        case .unknownInvite(let id): "unknown invite \(id)"
        case .unknownNode(let id): "unknown node `\(id)`"
        case .inviteRefused(let reason): reason.description
        }
    }
}
