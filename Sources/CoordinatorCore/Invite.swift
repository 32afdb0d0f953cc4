/// Why an invite token cannot be used (answered to the joining node as is).
public enum InviteRefusal: String, Error, Sendable, Equatable, CaseIterable, CustomStringConvertible {
    case unknown, expired, revoked, usedUp = "used_up", wrongStream = "wrong_stream"

    public var description: String {
        switch self {
        case .unknown: "unknown invite token (check the join line, or ask the host for a new invite)"
        case .expired: "this invite has expired; ask the host for a new one"
        case .revoked: "this invite was revoked by the host"
        case .usedUp: "this invite has been used up; ask the host for a new one"
        case .wrongStream: "this invite is for another stream"
        }
    }
}

/// What the coordinator knows about one invite; the decisions are here so they can be
/// tested without a database, and the store's single UPDATE mirrors `refusal(now:)`.
public struct InviteState: Sendable, Equatable {
    public var stream: String
    public var usesLeft: Int64
    public var maxUses: Int64
    public var expiresAt: Int64
    public var revokedAt: Int64?
    public var createdAt: Int64

    public init(stream: String, usesLeft: Int64, maxUses: Int64, expiresAt: Int64, revokedAt: Int64?, createdAt: Int64) {
        self.stream = stream; self.usesLeft = usesLeft; self.maxUses = maxUses
        self.expiresAt = expiresAt; self.revokedAt = revokedAt; self.createdAt = createdAt
    }

    /// Why this invite cannot be used at `now` (unix seconds), or nil if it can.
    /// Revocation is reported first: it is the host's explicit decision.
    public func refusal(now: Int64) -> InviteRefusal? {
        if revokedAt != nil { return .revoked }
        if now >= expiresAt { return .expired }
        if usesLeft <= 0 { return .usedUp }
        return nil
    }

    /// For listings: "active", "expired", "revoked" or "used_up".
    public func state(now: Int64) -> String { refusal(now: now)?.rawValue ?? "active" }
}

/// Limits on `invite create`.
public enum InviteRules {
    public static let defaultUses: Int64 = 1
    public static let maxUses: Int64 = 10_000
    public static let defaultLifetime: Int64 = 86_400

    public static func parseUses(_ text: String) throws -> Int64 {
        guard let uses = Int64(text), uses >= 1, uses <= maxUses else {
            throw InvalidInput("--uses takes a whole number from 1 to \(maxUses), got `\(text)`")
        }
        return uses
    }
}
