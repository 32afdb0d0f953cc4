import RTMP
import StreamrTLS

/// OpenSSL's HMAC-SHA256 (StreamrTLS), injected as the handshake needs it.
let hmac: RTMPHMACSHA256 = { key, data in HMACSHA256.mac(key: key, data: data) }

/// Deterministic generator (SplitMix64) so random tests repeat exactly.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func randomBytes(_ count: Int, _ g: inout SplitMix64) -> [UInt8] {
    (0..<count).map { _ in UInt8.random(in: 0...255, using: &g) }
}

func hex(_ bytes: [UInt8]) -> String { SHA256Digest.hex(bytes) }

/// Decodes everything in `bytes` (as a client would read the server's output).
func decodeAll(_ bytes: [UInt8], decoder: inout RTMPChunkDecoder) throws -> [RTMPMessage] {
    decoder.append(bytes)
    var out: [RTMPMessage] = []
    while let m = try decoder.nextMessage() { out.append(m) }
    return out
}

func decodeAll(_ bytes: [UInt8]) throws -> [RTMPMessage] {
    var d = RTMPChunkDecoder()
    return try decodeAll(bytes, decoder: &d)
}

/// Feeds `bytes` one at a time, collecting messages as they complete.
func dripFeed(_ bytes: [UInt8], decoder: inout RTMPChunkDecoder) throws -> [RTMPMessage] {
    var out: [RTMPMessage] = []
    for b in bytes {
        decoder.append([b])
        while let m = try decoder.nextMessage() { out.append(m) }
    }
    return out
}
