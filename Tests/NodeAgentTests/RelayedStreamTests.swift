import FLV
@testable import NodeAgent
import StreamrTLS
import StreamrWire
import XCTest

/// A node's chunk checks: the ingest's chunks verify (digest, chain, host signature); a
/// changed byte, a broken chain or a forged signature are refused.
final class RelayedStreamTests: XCTestCase {
    let host = try! CertificateAuthority.create()

    /// Chunks as an ingest makes them, with seals signed by `host`'s key.
    func ingestChunks(_ count: Int) throws -> [(MediaData, ChunkSealed)] {
        var chunker = Chunker(hash: { SHA256Digest.hash($0) })
        var sealedChunks: [Chunk] = []
        for i in 0..<(count * 60 + 1) {
            let tag = FLVTag(type: .video, timestamp: UInt32(i * 40), data: i % 60 == 0 ? [0x17, 0x01, 0, 0, 0, UInt8(i % 256)] : [0x27, 0x01, 0, 0, 0, UInt8(i % 256)])
            if let s = chunker.push(tag).sealed { sealedChunks.append(s) }
        }
        return try sealedChunks.map { chunk in
            (MediaData(stream: "s", chunkSeq: chunk.seq, kind: .tags, tags: chunk.bytes),
             ChunkSealed(stream: "s", seq: chunk.seq, firstTimestampMs: chunk.firstTimestamp, lastTimestampMs: chunk.lastTimestamp,
                         size: UInt64(chunk.size), sha256: chunk.digest, chain: chunk.chain, signature: try host.key.sign(chunk.chain)))
        }
    }

    func testIngestChunksVerifyAndAreKept() throws {
        let relayed = RelayedStream(name: "s")
        relayed.subscribing(); relayed.subscribed(resumed: false)
        for (media, seal) in try ingestChunks(3) {
            try relayed.media(media)
            XCTAssertEqual(relayed.sealed(seal, host: host.certificate), .verified)
        }
        XCTAssertEqual(relayed.lastVerifiedChunk, 3)
        XCTAssertEqual(relayed.live.sealedChunk(seq: 2)?.bytes.readableBytes.description, "\(try ingestChunks(3)[1].0.tags.count)")
    }

    func testAChangedByteIsRefused() throws {
        let relayed = RelayedStream(name: "s")
        relayed.subscribing(); relayed.subscribed(resumed: false)
        var chunks = try ingestChunks(2)
        chunks[1].0.tags[chunks[1].0.tags.count - 6] ^= 0x01   // inside the last tag's data
        try relayed.media(chunks[0].0)
        XCTAssertEqual(relayed.sealed(chunks[0].1, host: host.certificate), .verified)
        try relayed.media(chunks[1].0)
        guard case .rejected(let why) = relayed.sealed(chunks[1].1, host: host.certificate) else { return XCTFail("accepted") }
        XCTAssertTrue(why.contains("digest") || why.contains("SHA-256"), why)
        XCTAssertNil(relayed.live.sealedChunk(seq: 2), "a refused chunk is not served")
    }

    func testAForgedSignatureOrBrokenChainIsRefused() throws {
        let relayed = RelayedStream(name: "s")
        relayed.subscribing(); relayed.subscribed(resumed: false)
        var chunks = try ingestChunks(3)
        let other = try CertificateAuthority.create()
        chunks[0].1.signature = try other.key.sign(chunks[0].1.chain)
        try relayed.media(chunks[0].0)
        guard case .rejected = relayed.sealed(chunks[0].1, host: host.certificate) else { return XCTFail("forged signature accepted") }
        // A chunk whose chain value does not follow from the previous one (signed, but out of order).
        let fresh = RelayedStream(name: "s")
        fresh.subscribing(); fresh.subscribed(resumed: false)
        try fresh.media(chunks[1].0)
        XCTAssertEqual(fresh.sealed(chunks[1].1, host: host.certificate), .verified)
        var wrongChain = chunks[2].1
        wrongChain.chain = chunks[1].1.chain
        wrongChain.signature = try host.key.sign(wrongChain.chain)
        try fresh.media(chunks[2].0)
        guard case .rejected = fresh.sealed(wrongChain, host: host.certificate) else { return XCTFail("broken chain accepted") }
    }
}
