/// Refuses a message whose sequence number is not above the last one accepted from its
/// sender (heartbeats, reports). Persist `lastAccepted` and restore it at start: a replay
/// must stay refused across restarts.
///
/// A replay is refused, not flagged: a sender that retries after a lost acknowledgement
/// sends the same number again, which is harmless once refused.
public struct ReplayGuard<Sender: Hashable & Sendable>: Sendable {
    public enum Decision: Sendable, Hashable {
        case accepted
        case replayed(lastAccepted: UInt64)
    }

    public private(set) var lastAccepted: [Sender: UInt64]

    public init(lastAccepted: [Sender: UInt64] = [:]) {
        self.lastAccepted = lastAccepted
    }

    public mutating func admit(_ seq: UInt64, from sender: Sender) -> Decision {
        if let last = lastAccepted[sender], seq <= last { return .replayed(lastAccepted: last) }
        lastAccepted[sender] = seq
        return .accepted
    }
}
