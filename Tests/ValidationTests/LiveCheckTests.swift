@testable import Validation
import XCTest

final class LiveCheckTests: XCTestCase {
    // Chunks 1...40, 2 s each (60 tags, 30 video frames at 66 ms), sealed at n × 2 s.
    let chunks: [UInt64: [UInt8]] = Dictionary(uniqueKeysWithValues: (1...40).map { ($0, testChunk(seq: $0, startMs: UInt32($0) * 2000)) })
    let header = flvTag(type: 18, timestamp: 0, data: Array("onMetaData".utf8))

    func reference(upTo newest: UInt64 = 40, keep: Int = 60) -> LiveReference {
        var r = LiveReference(keepChunks: keep)
        for seq in 1...newest { r.add(seq: seq, bytes: chunks[seq]!, sealedAtMs: Int64(seq) * 2000) }
        r.addHeaderTag(header)
        return r
    }

    /// A watch planned when `edge` was the newest sealed chunk, receiving `seqs`.
    func watch(_ seqs: [UInt64], edge: UInt64 = 36, plannedAt: Int64 = 72_500, totalMs: Int = 4000,
               tail: [UInt8] = []) -> (PlannedProbe, HTTPObservation) {
        var p = plan(kind: .liveFLV)
        p.liveEdgeSeq = edge
        p.plannedAtMs = plannedAt
        let body = flvFileHeader + header + seqs.flatMap { chunks[$0]! } + tail
        return (p, HTTPObservation(status: 200, body: body, ttfbMs: 30, totalMs: totalMs, startedAtMs: plannedAt))
    }

    func verdict(_ w: (PlannedProbe, HTTPObservation), _ r: LiveReference) -> String {
        let o = OutcomeEvaluator.evaluate(w.0, w.1, reference: .live(r), atMs: 0)
        return "\(o.verdict.rawValue)/\(o.reason.rawValue)"
    }

    func testLiveTagsPass() {
        // Chunks 37 and 38 were open then sealed: the watch got the ingest's tags.
        XCTAssertEqual(verdict(watch([37, 38]), reference()), "passed/ok")
        // Cut mid-tag at the end, as a watch is: the partial tag is ignored.
        XCTAssertEqual(verdict(watch([37, 38], tail: Array(chunks[39]!.prefix(500))), reference()), "passed/ok")
    }

    func testAnAlteredTagIsAltered() {
        var (p, o) = watch([37, 38])
        o.body[flvFileHeader.count + header.count + 5000] ^= 0x40
        XCTAssertEqual(verdict((p, o), reference()), "altered/unknown_tags")
        // An altered header tag too.
        var (p2, o2) = watch([37])
        o2.body[flvFileHeader.count + 12] ^= 1
        XCTAssertEqual(verdict((p2, o2), reference()), "altered/unknown_tags")
    }

    func testNotFLVIsAltered() {
        let p = plan(kind: .liveFLV)
        let html = HTTPObservation(status: 200, body: Array("<html>ads</html>".utf8), ttfbMs: 1, totalMs: 4000)
        XCTAssertEqual(verdict((p, html), reference()), "altered/not_flv")
        XCTAssertEqual(verdict((p, HTTPObservation(status: 200, body: [0x46, 0x4C], totalMs: 10)), reference()), "failed/short_body")
        let badOffset: [UInt8] = [0x46, 0x4C, 0x56, 1, 5, 0, 0, 0, 200, 0, 0, 0, 0]
        XCTAssertEqual(verdict((p, HTTPObservation(status: 200, body: badOffset, totalMs: 10)), reference()), "failed/bad_response")
    }

    func testUnknownTagsAfterTheLastKnownOneWaitForTheSeal() {
        // The reference has sealed up to 37 only: tags of 38 (open at the end) may be genuine.
        let w = watch([37, 38], plannedAt: 72_500, totalMs: 4000)
        XCTAssertEqual(verdict(w, reference(upTo: 37)), "passed/ok")
        XCTAssertFalse(reference(upTo: 37).isSettled(watchEndedAtMs: 76_500))
        XCTAssertTrue(reference(upTo: 39).isSettled(watchEndedAtMs: 76_500))
        // Settled, the same unknown tail is evidence; without a start time it never settles.
        var tampered = watch([37, 38])
        tampered.1.body[tampered.1.body.count - 100] ^= 1
        XCTAssertEqual(verdict(tampered, reference(upTo: 39)), "altered/unknown_tags")
        tampered.1.startedAtMs = nil
        XCTAssertEqual(verdict(tampered, reference(upTo: 39)), "passed/ok")
        // Unknown tags before a known one cannot be in a later chunk: evidence at once.
        var forged = chunks[37]!
        forged[100] ^= 1
        let (p, o) = watch([], tail: forged + chunks[37]!)
        XCTAssertEqual(verdict((p, o), reference(upTo: 37)), "altered/unknown_tags")
    }

    func testOldDataIsStale() {
        // Chunks 20-21 are genuine but 15 behind the edge.
        XCTAssertEqual(verdict(watch([20, 21]), reference()), "stale/behind_live_edge")
        // Within the allowed lag (3 chunks) is fine.
        XCTAssertEqual(verdict(watch([34, 35]), reference()), "passed/ok")
        // Older than the reference reaches back: genuine-looking but unknown and all old.
        let recent = reference(upTo: 40, keep: 10)
        XCTAssertEqual(verdict(watch([5, 6]), recent), "stale/older_than_reference")
    }

    func testHeadersOnlyIsNoMedia() {
        XCTAssertEqual(verdict(watch([]), reference()), "failed/no_media")
    }

    func testSlowDeliveryFails() {
        // 4 s of media in a 4 s watch is live; 2 s of media in 8 s is not.
        XCTAssertEqual(verdict(watch([37, 38], totalMs: 4000), reference()), "passed/ok")
        XCTAssertEqual(verdict(watch([37], totalMs: 8000), reference()), "failed/slow")
    }

    func testStalledWatchReportsTheError() {
        var (p, o) = watch([37])
        o.error = .bodyTimeout
        XCTAssertEqual(verdict((p, o), reference()), "failed/timeout_body")
    }

    func testReferenceDropsOldChunks() {
        let r = reference(upTo: 40, keep: 10)
        XCTAssertEqual(r.oldestSeq, 31)
        XCTAssertEqual(r.newestSeq, 40)
        XCTAssertNil(r.chunk(of: chunks[30]![0..<1035]))
        let firstTag = FLVTags.walk(chunks[31]!, from: 0).tags[0]
        XCTAssertEqual(r.chunk(of: chunks[31]![firstTag.start..<firstTag.end]), 31)
        XCTAssertEqual(r.bytes(of: 35), chunks[35])
        XCTAssertNil(r.bytes(of: 30))
    }

    func testTagWalk() {
        let bytes = chunks[1]!
        let (tags, malformed) = FLVTags.walk(bytes, from: 0)
        XCTAssertEqual(tags.count, 60)
        XCTAssertFalse(malformed)
        XCTAssertEqual(tags.last?.end, bytes.count)
        XCTAssertEqual(tags[2].timestamp, 2066)
        XCTAssertTrue(FLVTags.walk([7] + bytes, from: 0).malformed)
        XCTAssertEqual(FLVTags.bodyStart(flvFileHeader), 13)
        XCTAssertNil(FLVTags.bodyStart(Array("GIF89a-------".utf8)))
    }
}
