import NIOConcurrencyHelpers
import NIOCore

/// Counts open connections per peer address, so one address cannot take every slot (a
/// slowloris, a scan, a misbehaving client). `acquire` says whether one more is allowed;
/// `release` when it closes.
public final class ConnectionLimiter: Sendable {
    public let perAddress: Int
    private let counts = NIOLockedValueBox([String: Int]())

    public init(perAddress: Int) { self.perAddress = max(1, perAddress) }

    /// Takes a slot for `address` (by IP; Unix sockets are not limited).
    public func acquire(_ address: SocketAddress?) -> Bool {
        guard let key = Self.key(address) else { return true }
        return counts.withLockedValue { counts in
            let now = counts[key, default: 0]
            guard now < perAddress else { return false }
            counts[key] = now + 1
            return true
        }
    }

    public func release(_ address: SocketAddress?) {
        guard let key = Self.key(address) else { return }
        counts.withLockedValue { counts in
            let left = counts[key, default: 1] - 1
            counts[key] = left > 0 ? left : nil
        }
    }

    public func count(_ address: SocketAddress?) -> Int {
        guard let key = Self.key(address) else { return 0 }
        return counts.withLockedValue { $0[key, default: 0] }
    }

    private static func key(_ address: SocketAddress?) -> String? {
        guard let address, address.ipAddress != nil else { return nil }
        return address.displayIP
    }
}
