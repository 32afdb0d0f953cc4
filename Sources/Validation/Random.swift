/// Randomness is injected as the standard library's `RandomNumberGenerator`, passed `inout`
/// to every call that draws (as `Int.random(in:using:)` does). The validator daemon passes
/// `SystemRandomNumberGenerator` (getrandom(2)): check times, chunks and ranges must be
/// unpredictable to nodes, so production never uses a seeded generator. Tests and the
/// simulation pass `SeededRandom`, so every run is reproducible.

/// xoshiro256** (Blackman and Vigna), seeded through SplitMix64 so that any 64-bit seed,
/// including 0, gives a well-mixed state. Fast and statistically strong; not cryptographic.
public struct SeededRandom: RandomNumberGenerator, Sendable, Hashable {
    private var s0, s1, s2, s3: UInt64

    public init(seed: UInt64) {
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitMix(); s1 = splitMix(); s2 = splitMix(); s3 = splitMix()
    }

    public mutating func next() -> UInt64 {
        let result = rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        return result
    }

    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}

extension RandomNumberGenerator {
    /// Uniform in (0, 1]: never 0, so its logarithm is finite.
    public mutating func unitOpen() -> Double {
        Double(next() >> 11 &+ 1) * 0x1p-53
    }

    /// An exponential waiting time with the given rate (events per unit), by inversion.
    public mutating func exponential(rate: Double) -> Double {
        precondition(rate > 0)
        return -FastMath.ln(unitOpen()) / rate
    }

    /// True with probability `p` (clamped to 0...1).
    public mutating func chance(_ p: Double) -> Bool {
        p >= 1 || (p > 0 && Double.random(in: 0..<1, using: &self) < p)
    }

    /// An index chosen with probability proportional to its weight; nil when no weight is positive.
    public mutating func weightedIndex(_ weights: [Double]) -> Int? {
        let total = weights.reduce(0) { $0 + max(0, $1) }
        guard total > 0 else { return nil }
        var point = Double.random(in: 0..<total, using: &self)
        for (i, w) in weights.enumerated() where w > 0 {
            if point < w { return i }
            point -= w
        }
        return weights.lastIndex { $0 > 0 }
    }
}
