import Foundation
import StreamrTLS
import StreamrWire
@testable import Validator

/// A host signing key and a stream's chunks sealed with it, as the ingest seals them.
struct SealedStream {
    let key: PrivateKey
    let stream: String
    let chainID: UInt64
    var chunks: [[UInt8]] = []
    var seals: [ChunkSealed] = []

    init(key: PrivateKey, stream: String = "main", chainID: UInt64 = 0xabc, count: Int = 5, sealedAt: UInt64 = 1_000) throws {
        self.key = key; self.stream = stream; self.chainID = chainID
        var previous = [UInt8](repeating: 0, count: 32)
        for seq in 1...UInt64(count) {
            let bytes = (0..<(3000 + Int(seq) * 10)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ Int(seq) &+ Int(chainID)) }
            let digest = SHA256Digest.hash(bytes)
            let chain = SHA256Digest.hash(previous + digest)
            previous = chain
            chunks.append(bytes)
            seals.append(ChunkSealed(stream: stream, seq: seq, firstTimestampMs: UInt32(seq * 2000), lastTimestampMs: UInt32(seq * 2000 + 1966),
                                     size: UInt64(bytes.count), sha256: digest, chain: chain, signature: try key.sign(chain),
                                     chainID: chainID, sealedUnixMs: sealedAt + seq * 2000))
        }
    }
}

func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("streamr-validator-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
