/// SplitMix64: a tiny deterministic generator, so every property run is reproducible from its
/// seed (printed in each failure message) on any platform and Swift version.
struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func int(_ range: ClosedRange<Int64>) -> Int64 { Int64.random(in: range, using: &self) }
    mutating func chance(_ percent: Int) -> Bool { Int.random(in: 0..<100, using: &self) < percent }
}

/// Runs `body` for seeds 1...count; the seed goes into every assertion message.
func forEachSeed(_ count: UInt64 = 500, _ body: (UInt64, inout SeededRandom) throws -> Void) rethrows {
    for seed in 1...count {
        var random = SeededRandom(seed: seed)
        try body(seed, &random)
    }
}
