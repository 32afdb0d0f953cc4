import FLV
import XCTest

final class ChunkBufferTests: XCTestCase {
    private func chunk(_ seq: UInt64, size: Int = 10) -> Chunk {
        Chunk(seq: seq, firstTimestamp: UInt32(seq) * 2000, lastTimestamp: UInt32(seq) * 2000 + 1999,
              bytes: [UInt8](repeating: UInt8(truncatingIfNeeded: seq), count: size), digest: [], chain: [],
              tagCount: 1, keyframes: [], headers: SequenceHeaders())
    }

    func testEvictsByCount() {
        var buffer = ChunkBuffer(maxChunks: 3, maxBytes: 1 << 20)
        XCTAssertNil(buffer.oldestSeq)
        for seq: UInt64 in 1...10 { XCTAssertTrue(buffer.append(chunk(seq))) }
        XCTAssertEqual(buffer.seqs, [8, 9, 10])
        XCTAssertEqual(buffer.count, 3)
        XCTAssertEqual(buffer.totalBytes, 30)
        XCTAssertEqual(buffer.oldestSeq, 8)
        XCTAssertEqual(buffer.newestSeq, 10)
        XCTAssertNil(buffer.chunk(seq: 7))
        XCTAssertEqual(buffer.chunk(seq: 9), chunk(9))
        XCTAssertNil(buffer.chunk(seq: 11))
    }

    func testEvictsByBytesButKeepsTheNewest() {
        var buffer = ChunkBuffer(maxChunks: 100, maxBytes: 250)
        for seq: UInt64 in 1...5 { buffer.append(chunk(seq, size: 100)) }
        XCTAssertEqual(buffer.seqs, [4, 5])
        XCTAssertEqual(buffer.totalBytes, 200)
        buffer.append(chunk(6, size: 1000))  // alone over the limit: still kept
        XCTAssertEqual(buffer.seqs, [6])
        XCTAssertEqual(buffer.totalBytes, 1000)
        buffer.append(chunk(7, size: 50))
        XCTAssertEqual(buffer.seqs, [7])
    }

    func testRefusesOlderOrRepeatedChunks() {
        var buffer = ChunkBuffer(maxChunks: 5)
        buffer.append(chunk(4))
        XCTAssertFalse(buffer.append(chunk(4)))
        XCTAssertFalse(buffer.append(chunk(2)))
        XCTAssertEqual(buffer.seqs, [4])
    }

    func testLookupWithGaps() {
        // A node that missed chunks 3 and 5.
        var buffer = ChunkBuffer(maxChunks: 10)
        for seq: UInt64 in [1, 2, 4, 6, 7] { buffer.append(chunk(seq)) }
        XCTAssertEqual([1, 2, 3, 4, 5, 6, 7, 8].map { buffer.chunk(seq: $0)?.seq }, [1, 2, nil, 4, nil, 6, 7, nil])
        XCTAssertEqual(buffer.resume(after: 3), .chunks([chunk(4), chunk(6), chunk(7)]))
    }

    func testResume() {
        var buffer = ChunkBuffer(maxChunks: 3)
        XCTAssertEqual(buffer.resume(after: 0), .evicted(oldest: nil))
        for seq: UInt64 in 1...5 { buffer.append(chunk(seq)) }
        XCTAssertEqual(buffer.resume(after: 3), .chunks([chunk(4), chunk(5)]))
        XCTAssertEqual(buffer.resume(after: 2), .chunks([chunk(3), chunk(4), chunk(5)]))
        XCTAssertEqual(buffer.resume(after: 5), .chunks([]))
        XCTAssertEqual(buffer.resume(after: 9), .chunks([]))
        XCTAssertEqual(buffer.resume(after: 1), .evicted(oldest: 3))
        XCTAssertEqual(buffer.resume(after: 0), .evicted(oldest: 3))
    }

    func testLongRunStaysBounded() {
        var buffer = ChunkBuffer(maxChunks: 4, maxBytes: 1 << 20)
        for seq: UInt64 in 1...10_000 { buffer.append(chunk(seq, size: 1)) }
        XCTAssertEqual(buffer.seqs, [9997, 9998, 9999, 10_000])
        XCTAssertEqual(buffer.chunk(seq: 9998)?.seq, 9998)
    }
}

final class ChunkVerifierTests: XCTestCase {
    private func chunks() -> [Chunk] {
        // Keyframes at 0, 990, 1980, 2970 ms: each starts a chunk with a 900 ms target.
        var chunker = Chunker(configuration: .init(targetDurationMs: 900), hash: sha256)
        var out: [Chunk] = []
        for i in 0..<120 {
            if let sealed = chunker.push(Make.frame(UInt32(i * 33), key: i % 30 == 0)).sealed { out.append(sealed) }
        }
        if let last = chunker.finish() { out.append(last) }
        return out
    }

    func testAcceptsTheChainAndRejectsAFlippedByte() throws {
        let chunks = chunks()
        XCTAssertEqual(chunks.count, 4)
        var previous = HashChain.initial
        XCTAssertEqual(previous, [UInt8](repeating: 0, count: 32))
        for chunk in chunks {
            previous = try ChunkVerifier.verify(chunk, previousChain: previous, hash: sha256)
            XCTAssertEqual(previous, chunk.chain)
        }
        var bad = chunks[2].bytes
        bad[bad.count / 2] ^= 0x01
        XCTAssertThrowsError(try ChunkVerifier.verify(bytes: bad, expectedDigest: chunks[2].digest,
                                                      previousChain: chunks[1].chain, hash: sha256)) {
            XCTAssertEqual($0 as? ChunkVerificationError, .digestMismatch(expected: chunks[2].digest, actual: sha256(bad)))
        }
    }

    func testRejectsAWrongPreviousChain() {
        let chunks = chunks()
        // Right bytes and digest, but checked against chunk 0's chain instead of chunk 1's.
        XCTAssertThrowsError(try ChunkVerifier.verify(chunks[2], previousChain: chunks[0].chain, hash: sha256)) {
            guard case .chainMismatch(let expected, _) = $0 as? ChunkVerificationError else { return XCTFail("\($0)") }
            XCTAssertEqual(expected, chunks[2].chain)
        }
        // Without an expected chain only the digest is checked; the result is what chains on.
        XCTAssertEqual(try ChunkVerifier.verify(bytes: chunks[0].bytes, expectedDigest: chunks[0].digest,
                                                previousChain: HashChain.initial, hash: sha256), chunks[0].chain)
    }

    func testKeyframeScanMatchesTheChunker() throws {
        for chunk in chunks() {
            XCTAssertEqual(try KeyframeIndex.scan(chunk.bytes), chunk.keyframes)
        }
        XCTAssertThrowsError(try KeyframeIndex.scan([9, 0, 0]))
    }
}
