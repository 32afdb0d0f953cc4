import Dispatch
import FLV
import LiveMedia
import NIOConcurrencyHelpers
import NIOCore
import Relay
import StreamrTLS
import StreamrWire
import XCTest

/// A relay's chunk checks against the host's signing key: the ingest's chunks verify (digest,
/// chain, signature); a changed byte, a broken chain or a forged signature are refused; and
/// what the relay keeps and serves are slices of what it received.
final class RelayedStreamTests: XCTestCase {
    let host = try! PrivateKey.generate()
    var hostKey: PublicKey { try! host.publicKey() }

    /// Chunks as an ingest makes them, with seals signed by `host`.
    func ingestChunks(_ count: Int, chain: UInt64 = 42, signer: PrivateKey? = nil) throws -> [(MediaData, ChunkSealed)] {
        var chunker = Chunker(hash: { SHA256Digest.hash($0) })
        var sealedChunks: [Chunk] = []
        for i in 0..<(count * 60 + 1) {
            let tag = FLVTag(type: .video, timestamp: UInt32(i * 40),
                             data: i % 60 == 0 ? [0x17, 0x01, 0, 0, 0, UInt8(i % 256)] : [0x27, 0x01, 0, 0, 0, UInt8(i % 256)])
            if let s = chunker.push(tag).sealed { sealedChunks.append(s) }
        }
        return try sealedChunks.map { chunk in
            (MediaData(stream: "s", chunkSeq: chunk.seq, kind: .tags, tags: chunk.bytes),
             ChunkSealed(stream: "s", seq: chunk.seq, firstTimestampMs: chunk.firstTimestamp, lastTimestampMs: chunk.lastTimestamp,
                         size: UInt64(chunk.size), sha256: chunk.digest, chain: chunk.chain,
                         signature: try (signer ?? host).sign(chunk.chain), chainID: chain))
        }
    }

    func subscribed(_ relayed: RelayedStream, chain: UInt64 = 42) {
        _ = relayed.subscribeRequest()
        relayed.subscribed(SubscribeAck(stream: "s", firstChunk: 1, resumed: false, chainID: chain))
    }

    func testIngestChunksVerifyAndAreKeptAsReceived() throws {
        let kept = NIOLockedValueBox([UInt64]())
        let relayed = RelayedStream(name: "s", signingKey: hostKey, onChunk: { chunk, _, _ in kept.withLockedValue { $0.append(chunk.seal.seq) } })
        subscribed(relayed)
        let chunks = try ingestChunks(3)
        for (media, seal) in chunks {
            try relayed.media(media)
            XCTAssertEqual(relayed.sealed(seal), .verified)
        }
        XCTAssertEqual(relayed.lastVerifiedChunk, 3)
        XCTAssertEqual(kept.withLockedValue { $0 }, [1, 2, 3])
        XCTAssertEqual(relayed.live.sealedChunk(seq: 2)?.bytes, chunks[1].0.tags, "the kept chunk is the received bytes")
        XCTAssertEqual(relayed.live.sealedChunk(seq: 2, chainID: 42)?.seal.seq, 2)
        XCTAssertNil(relayed.live.sealedChunk(seq: 2, chainID: 43))
    }

    func testAChangedByteIsRefused() throws {
        let relayed = RelayedStream(name: "s", signingKey: hostKey)
        subscribed(relayed)
        let chunks = try ingestChunks(2)
        try relayed.media(chunks[0].0)
        XCTAssertEqual(relayed.sealed(chunks[0].1), .verified)
        var altered = chunks[1].0
        var bytes = Array(altered.tags.readableBytesView)
        bytes[bytes.count - 6] ^= 0xFF   // inside the last tag's data: still parses
        altered.tags = ByteBuffer(bytes: bytes)
        try relayed.media(altered)
        guard case .rejected(let why) = relayed.sealed(chunks[1].1) else { return XCTFail("accepted an altered chunk") }
        XCTAssertTrue(why.contains("SHA-256"), why)
        XCTAssertNil(relayed.live.sealedChunk(seq: 2))
    }

    func testAForgedSignatureOrABrokenChainIsRefused() throws {
        let relayed = RelayedStream(name: "s", signingKey: hostKey)
        subscribed(relayed)
        let forged = try ingestChunks(1, signer: try PrivateKey.generate())
        try relayed.media(forged[0].0)
        guard case .rejected(let why) = relayed.sealed(forged[0].1) else { return XCTFail("accepted a forged seal") }
        XCTAssertTrue(why.contains("signed"), why)

        let other = RelayedStream(name: "s", signingKey: hostKey)
        subscribed(other)
        let chunks = try ingestChunks(3)
        try other.media(chunks[0].0)
        XCTAssertEqual(other.sealed(chunks[0].1), .verified)
        // Chunk 3 presented as if it followed chunk 1: its chain does not continue from 1's.
        var seal3 = chunks[2].1
        seal3.seq = 2
        try other.media(MediaData(stream: "s", chunkSeq: 2, kind: .tags, tags: chunks[2].0.tags))
        guard case .rejected(let chain) = other.sealed(seal3) else { return XCTFail("accepted a broken chain") }
        XCTAssertTrue(chain.contains("chain"), chain)
    }

    /// What the parent pushed before the ack is replayed by the task that read the ack, while
    /// the connection's reader goes on with the next pushes: those must wait for the replay, or
    /// the chunk is assembled out of order (right size, wrong SHA-256: a node joining during
    /// the stream's first chunk saw it). Raced on two threads, many times.
    func testPushesReadAfterTheAckWaitForThoseReadBeforeIt() throws {
        let (whole, seal) = try ingestChunks(1)[0]
        var rest = whole.tags
        var tags: [MediaData] = []
        while rest.readableBytes > 0 {
            let size = Int(rest.getInteger(at: rest.readerIndex + 1, as: UInt8.self)!) << 16
                | Int(rest.getInteger(at: rest.readerIndex + 2, as: UInt16.self)!)
            tags.append(MediaData(stream: "s", chunkSeq: 1, kind: .tags, tags: rest.readSlice(length: 11 + size + 4)!))
        }
        let early = tags.count / 2
        let pieces = tags
        for round in 0..<300 {
            let relayed = RelayedStream(name: "s", signingKey: hostKey)
            _ = relayed.subscribeRequest()
            for media in pieces[..<early] { try relayed.media(media) }
            let outcomes = NIOLockedValueBox<[RelayedStream.Outcome]>([])
            DispatchQueue.concurrentPerform(iterations: 2) { side in
                if side == 0 {
                    let outcome = relayed.subscribed(SubscribeAck(stream: "s", firstChunk: 1, resumed: false, chainID: 42))
                    outcomes.withLockedValue { $0.append(outcome) }
                } else {
                    for media in pieces[early...] { try! relayed.media(media) }
                    let outcome = relayed.sealed(seal)
                    outcomes.withLockedValue { $0.append(outcome) }
                }
            }
            let seen = outcomes.withLockedValue { $0 }
            XCTAssertEqual(relayed.lastVerifiedChunk, 1, "round \(round): \(seen)")
            if relayed.lastVerifiedChunk != 1 { break }
        }
    }

    func testANewChainEndsTheViewersStreamAndStartsAFreshOne() throws {
        let relayed = RelayedStream(name: "s", signingKey: hostKey)
        subscribed(relayed, chain: 42)
        let before = relayed.live
        let chunks = try ingestChunks(1)
        try relayed.media(chunks[0].0)
        XCTAssertEqual(relayed.sealed(chunks[0].1), .verified)
        // The same chain again (a lost subscription that resumes): the same stream for viewers.
        relayed.subscribed(SubscribeAck(stream: "s", firstChunk: 2, resumed: true, chainID: 42))
        XCTAssertTrue(relayed.live === before)
        relayed.subscribed(SubscribeAck(stream: "s", firstChunk: 1, resumed: false, chainID: 99))
        XCTAssertTrue(before.isEnded)
        XCTAssertFalse(relayed.live === before)
        XCTAssertEqual(relayed.live.chainID, 99)
        XCTAssertEqual(relayed.lastVerifiedChunk, 0)
    }

    func testFramesAreSlicesOfTheReceivedTagsAndBadTagsThrow() throws {
        let tags = [FLVTag(type: .video, timestamp: 0, data: [0x17, 0x01, 0, 0, 0, 1]), FLVTag(type: .audio, timestamp: 20, data: [0xAF, 0x01, 5])]
        var bytes = ByteBuffer()
        for tag in tags { bytes.writeFLVTag(tag) }
        let relayed = RelayedStream(name: "s", signingKey: hostKey)
        let player = NIOLockedValueBox([LiveFrame]())
        final class Grab: LiveViewer {
            let kind = ViewerKind.flv
            let into: NIOLockedValueBox<[LiveFrame]>
            init(_ into: NIOLockedValueBox<[LiveFrame]>) { self.into = into }
            func start(_ items: [LiveItem], join: LiveStream.Join) {}
            func receive(_ batch: LiveBatch) { into.withLockedValue { $0 += batch.frames } }
            func ended() {}
        }
        relayed.live.add(Grab(player))
        try relayed.media(MediaData(stream: "s", chunkSeq: 1, kind: .tags, tags: bytes))
        let frames = player.withLockedValue { $0 }
        XCTAssertEqual(frames.map(\.timestamp), [0, 20])
        XCTAssertTrue(frames[0].isKeyframe)
        XCTAssertEqual(LiveBatch.joined(frames.map(\.flv)), bytes)
        var broken = bytes
        broken.moveWriterIndex(to: broken.writerIndex - 1)
        XCTAssertThrowsError(try relayed.media(MediaData(stream: "s", chunkSeq: 1, kind: .tags, tags: broken)))
    }
}

/// The subscription's wire form: what one batch becomes, decoded back by protobuf-c.
final class SubscriptionFramesTests: XCTestCase {
    func testFramesOfAChunkShareAnEnvelopeAndSealsFollowInOrder() throws {
        let k = LiveFrame(tag: FLVTag(type: .video, timestamp: 0, data: [0x17, 0x01, 0, 0, 0, 1]), kind: .videoKeyframe(.avc), chunkSeq: 1)
        let a = LiveFrame(tag: FLVTag(type: .audio, timestamp: 10, data: [0xAF, 0x01, 2]), kind: .audio(.aac), chunkSeq: 1)
        let next = LiveFrame(tag: FLVTag(type: .video, timestamp: 2000, data: [0x17, 0x01, 0, 0, 0, 3]), kind: .videoKeyframe(.avc), chunkSeq: 2)
        let seal = ChunkSealed(stream: "s", seq: 1, firstTimestampMs: 0, lastTimestampMs: 10, size: 9, sha256: [1], chain: [2], signature: [3], chainID: 5)
        var framed = SubscriptionFrames.encode([.frame(k), .frame(a), .sealed(SealedChunk(seal: seal, bytes: ByteBuffer())), .frame(next)],
                                               stream: "s")
        var decoder = EnvelopeFrameDecoder()
        var bodies: [Envelope.Body] = []
        while let envelope = try decoder.decode(buffer: &framed) { bodies.append(envelope.body) }
        XCTAssertEqual(bodies.count, 3)
        guard case .media(let first) = bodies[0], case .chunkSealed(let s) = bodies[1], case .media(let second) = bodies[2] else {
            return XCTFail("\(bodies)")
        }
        XCTAssertEqual(first.chunkSeq, 1)
        XCTAssertEqual(first.tags, LiveBatch.joined([k.flv, a.flv]))
        XCTAssertEqual(s, seal)
        XCTAssertEqual(second.chunkSeq, 2)
    }
}
