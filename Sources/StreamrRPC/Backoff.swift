#if canImport(Glibc)
import Glibc
#endif

/// Reconnect delays: exponential from 1 s to 60 s, with ±20% jitter so clients that lost
/// their server together do not come back in lockstep.
public struct Backoff: Sendable {
    public private(set) var attempt = 0
    public let maxSeconds: Double

    public init(maxSeconds: Double = 60) { self.maxSeconds = maxSeconds }

    public mutating func next() -> Duration {
        let base = min(maxSeconds, pow(2.0, Double(min(attempt, 6))))
        attempt += 1
        return .milliseconds(Int64(base * Double.random(in: 0.8...1.2) * 1000))
    }

    public mutating func reset() { attempt = 0 }
}
