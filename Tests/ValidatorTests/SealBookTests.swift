import NIOConcurrencyHelpers
import StreamrTLS
import StreamrWire
import Validation
@testable import Validator
import XCTest

final class SealBookTests: XCTestCase {
    var key: PrivateKey!
    var book: SealBook!

    override func setUpWithError() throws {
        key = try PrivateKey.generate()
        book = SealBook(signingKey: try key.publicKey(), keepSeals: 8, keepChunks: 4)
    }

    func testSealsAreCheckedKeptAndDuplicatesChangeNothing() throws {
        let s = try SealedStream(key: key)
        for seal in s.seals { XCTAssertEqual(book.accept(seal, receivedMs: 10), .new) }
        XCTAssertEqual(book.accept(s.seals[2], receivedMs: 11), .duplicate, "the ingest replays kept seals at every connect")
        XCTAssertEqual(book.counts.accepted, 5)
        XCTAssertEqual(book.counts.duplicates, 1)
        XCTAssertEqual(book.current(stream: "main")?.chainID, 0xabc)
        XCTAssertEqual(book.current(stream: "main")?.newestSeq, 5)
        XCTAssertEqual(book.seal(stream: "main", chainID: 0xabc, seq: 3), s.seals[2])
    }

    func testForgedOrBrokenSealsAreRefused() throws {
        let s = try SealedStream(key: key)
        let other = try SealedStream(key: try PrivateKey.generate())
        guard case .rejected(let why) = book.accept(other.seals[0], receivedMs: 1) else { return XCTFail("another key's seal") }
        XCTAssertTrue(why.contains("not signed"), why)
        XCTAssertEqual(book.accept(s.seals[0], receivedMs: 1), .new)
        // Signed by the host, but its chain value does not follow from chunk 1.
        var broken = s.seals[1]
        broken.sha256 = SHA256Digest.hash([1, 2, 3])
        guard case .rejected(let chain) = book.accept(broken, receivedMs: 2) else { return XCTFail("a broken chain") }
        XCTAssertTrue(chain.contains("hash chain"), chain)
        // A different seal under a known number.
        var conflicting = s.seals[0]
        conflicting.lastTimestampMs += 1
        guard case .rejected = book.accept(conflicting, receivedMs: 3) else { return XCTFail("a conflicting seal") }
        var short = s.seals[2]
        short.sha256 = [1]
        guard case .rejected = book.accept(short, receivedMs: 3) else { return XCTFail("a malformed seal") }
        XCTAssertEqual(book.counts.rejected, 4)
    }

    func testBytesAreKeptOnlyWhenTheyMatchTheSeal() throws {
        let s = try SealedStream(key: key)
        for seal in s.seals { _ = book.accept(seal, receivedMs: 10) }
        XCTAssertFalse(book.addBytes(s.chunks[1], stream: "main", chainID: 0xabc, seq: 1), "chunk 2's bytes for chunk 1")
        XCTAssertFalse(book.addBytes(Array(s.chunks[0].dropLast()), stream: "main", chainID: 0xabc, seq: 1))
        XCTAssertTrue(book.addBytes(s.chunks[0], stream: "main", chainID: 0xabc, seq: 1))
        XCTAssertEqual(book.bytes(stream: "main", chainID: 0xabc, seq: 1), s.chunks[0])
        XCTAssertNil(book.bytes(stream: "main", chainID: 0xabc, seq: 2))
        for i in 1..<5 { XCTAssertTrue(book.addBytes(s.chunks[i], stream: "main", chainID: 0xabc, seq: UInt64(i + 1))) }
        XCTAssertNil(book.bytes(stream: "main", chainID: 0xabc, seq: 1), "only keepChunks are kept")
    }

    func testReferencesForThePlanner() throws {
        let s = try SealedStream(key: key)
        for seal in s.seals { _ = book.accept(seal, receivedMs: 1000 + Int64(seal.seq) * 2000) }
        var refs = book.references(nowMs: 12_000, liveWithinMs: 5000)
        XCTAssertEqual(refs["main"]?.chainID, 0xabc)
        XCTAssertEqual(refs["main"]?.sealed.map(\.seq), [1, 2, 3, 4, 5])
        XCTAssertEqual(refs["main"]?.sealed.first?.durationMs, 1966)
        XCTAssertEqual(refs["main"]?.isLive, true)
        XCTAssertEqual(refs["main"]?.holdsBytes, false, "no bytes and no headers yet")
        for i in 2..<5 { _ = book.addBytes(s.chunks[i], stream: "main", chainID: 0xabc, seq: UInt64(i + 1)) }
        book.addHeaderTags([[18, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0, 12]], stream: "main", atMs: 0)
        refs = book.references(nowMs: 12_000, liveWithinMs: 5000)
        XCTAssertEqual(refs["main"]?.holdsBytes, true)
        XCTAssertEqual(book.references(nowMs: 30_000, liveWithinMs: 5000)["main"]?.isLive, false, "no seal for a while: not live")
        XCTAssertEqual(book.liveReference(stream: "main", chainID: 0xabc, fromSeq: 4)?.complete, true)
        XCTAssertEqual(book.liveReference(stream: "main", chainID: 0xabc, fromSeq: 1)?.complete, false, "a gap is not complete")
        XCTAssertEqual(book.liveReference(stream: "main", chainID: 0xabc, fromSeq: 3)?.complete, true)
    }

    func testANewChainTakesOverAndOnlyTwoAreKept() throws {
        let first = try SealedStream(key: key, chainID: 1, count: 3, sealedAt: 0)
        let second = try SealedStream(key: key, chainID: 2, count: 2, sealedAt: 100_000)
        let third = try SealedStream(key: key, chainID: 3, count: 1, sealedAt: 200_000)
        for seal in first.seals + second.seals { _ = book.accept(seal, receivedMs: 1) }
        XCTAssertEqual(book.current(stream: "main")?.chainID, 2, "the chain sealed last is current")
        _ = book.accept(first.seals[0], receivedMs: 2)
        XCTAssertEqual(book.current(stream: "main")?.chainID, 2, "a replayed older chain does not take over")
        _ = book.accept(third.seals[0], receivedMs: 3)
        XCTAssertEqual(book.current(stream: "main")?.chainID, 3)
        XCTAssertNil(book.seal(stream: "main", chainID: 1, seq: 1), "the oldest chain is forgotten")
        XCTAssertNotNil(book.seal(stream: "main", chainID: 2, seq: 1))
    }

    func testHeaderTagsFromTheOriginsFLVHead() {
        let header: [UInt8] = [0x46, 0x4C, 0x56, 1, 5, 0, 0, 0, 9, 0, 0, 0, 0]
        func tag(_ type: UInt8, _ data: [UInt8]) -> [UInt8] {
            let n = data.count
            return [type, 0, 0, UInt8(n), 0, 0, 0, 0, 0, 0, 0] + data + [0, 0, 0, UInt8(11 + n)]
        }
        let metadata = tag(18, [2, 0, 10] + Array("onMetaData".utf8) + [8, 0, 0, 0, 0, 0, 0, 9])
        let avc = tag(9, [0x17, 0, 0, 0, 0, 1, 2, 3])
        let aac = tag(8, [0xAF, 0, 0x12, 0x10])
        let keyframe = tag(9, [0x17, 1, 0, 0, 0, 9, 9])
        let tags = ReferenceFetcher.headerTags(header + metadata + avc + aac + keyframe + aac)
        XCTAssertEqual(tags, [metadata, avc, aac], "the tags before the first media tag, byte for byte")
        XCTAssertEqual(ReferenceFetcher.headerTags(Array("<html>".utf8)), [])
    }

    func testWithoutTheSigningKeySealsAreRefusedUntilItCanBeRead() throws {
        let s = try SealedStream(key: key)
        let available = NIOLockedValueBox(false)
        let publicKey = try key.publicKey()
        let late = SealBook(loadKey: { available.withLockedValue { $0 } ? publicKey : nil })
        XCTAssertFalse(late.hasSigningKey)
        guard case .rejected(let why) = late.accept(s.seals[0], receivedMs: 0) else { return XCTFail("no key, no seal") }
        XCTAssertTrue(why.contains("signing key"), why)
        available.withLockedValue { $0 = true }
        guard case .rejected = late.accept(s.seals[0], receivedMs: 5000) else { return XCTFail("read again only every 10 s") }
        XCTAssertEqual(late.accept(s.seals[0], receivedMs: 10_000), .new, "read again, and used")
        XCTAssertTrue(late.hasSigningKey)
    }
}
