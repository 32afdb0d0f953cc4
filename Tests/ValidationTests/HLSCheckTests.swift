@testable import Validation
import XCTest

final class HLSCheckTests: XCTestCase {
    func playlist(from first: UInt64, count: Int = 6) -> [UInt8] {
        var text = "#EXTM3U\r\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:3\n#EXT-X-MEDIA-SEQUENCE:\(first)\n"
        for seq in first..<first + UInt64(count) { text += "#EXTINF:2.033,\n\(seq).ts\n" }
        return Array(text.utf8)
    }

    let segment: [UInt8] = (0..<(188 * 400)).map { $0 % 188 == 0 ? 0x47 : UInt8(truncatingIfNeeded: $0) }

    func evaluate(playlist body: [UInt8], segment seg: HTTPObservation?, edge: UInt64 = 50) -> String {
        let p = plan(kind: .hls)
        let o = OutcomeEvaluator.evaluate(p, HTTPObservation(status: 200, body: body, ttfbMs: 12, totalMs: 15),
                                          segment: seg, reference: .hls(liveEdgeSeq: edge), atMs: 0)
        return "\(o.verdict.rawValue)/\(o.reason.rawValue)"
    }

    func segmentObservation(_ body: [UInt8]? = nil, status: Int = 200, totalMs: Int = 30) -> HTTPObservation {
        HTTPObservation(status: status, body: body ?? segment, ttfbMs: 10, totalMs: totalMs)
    }

    func testPlaylistParsing() {
        let summary = HLSPlaylistSummary.parse(playlist(from: 45))!
        XCTAssertEqual(summary.mediaSequence, 45)
        XCTAssertEqual(summary.segments.map(\.seq), Array(45...50))
        XCTAssertEqual(summary.playerStart, .init(seq: 48, uri: "48.ts"), "third from the end, as ffmpeg and hls.js start")
        XCTAssertEqual(plan(kind: .hls).segmentPath(playlist: summary), "/live/main/48.ts")
        XCTAssertNil(HLSPlaylistSummary.parse(Array("<html>".utf8)))
        let elsewhere = HLSPlaylistSummary.parse(Array("#EXTM3U\n#EXTINF:2,\nhttp://evil/1.ts\n".utf8))!
        XCTAssertNil(plan(kind: .hls).segmentPath(playlist: elsewhere), "segments are fetched from the node only")
    }

    func testFreshPlaylistAndGoodSegmentPass() {
        XCTAssertEqual(evaluate(playlist: playlist(from: 45), segment: segmentObservation()), "passed/ok")
        XCTAssertEqual(evaluate(playlist: playlist(from: 44), segment: segmentObservation()), "passed/ok", "one behind")
    }

    func testOldPlaylistIsStale() {
        XCTAssertEqual(evaluate(playlist: playlist(from: 30), segment: segmentObservation()), "stale/playlist_behind")
    }

    func testImpossiblePlaylistsFail() {
        XCTAssertEqual(evaluate(playlist: playlist(from: 50), segment: segmentObservation()), "failed/playlist_ahead")
        XCTAssertEqual(evaluate(playlist: Array("nope".utf8), segment: nil), "failed/bad_playlist")
    }

    func testBadSegmentsFail() {
        XCTAssertEqual(evaluate(playlist: playlist(from: 45), segment: segmentObservation(status: 404)), "failed/http_404")
        XCTAssertEqual(evaluate(playlist: playlist(from: 45), segment: segmentObservation(Array(segment.dropLast()))),
                       "failed/bad_segment")
        var unsynced = segment
        unsynced[188 * 7] = 0
        XCTAssertEqual(evaluate(playlist: playlist(from: 45), segment: segmentObservation(unsynced)), "failed/bad_segment")
        XCTAssertEqual(evaluate(playlist: playlist(from: 45), segment: segmentObservation([])), "failed/short_body")
        // 75 kB in 1 s = 0.6 Mbit/s, under the floor.
        XCTAssertEqual(evaluate(playlist: playlist(from: 45), segment: segmentObservation(totalMs: 1010)), "failed/slow")
    }

    /// Nodes number their playlists themselves (the media sequence only grows, across chains)
    /// and name each segment `<chain hex>-<seq>.ts` after its chunk: freshness is read from the names.
    func namedPlaylist(chain: UInt64, from first: UInt64, count: Int = 6, mediaSequence: UInt64 = 3) -> [UInt8] {
        var text = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:3\n#EXT-X-MEDIA-SEQUENCE:\(mediaSequence)\n"
        for seq in first..<first + UInt64(count) { text += "#EXTINF:2.033,\n\(String(chain, radix: 16))-\(seq).ts\n" }
        return Array(text.utf8)
    }

    func evaluateNamed(_ body: [UInt8], chain: UInt64 = 0xabc, edge: UInt64 = 50) -> String {
        var p = plan(kind: .hls)
        p.chainID = chain
        let o = OutcomeEvaluator.evaluate(p, HTTPObservation(status: 200, body: body, ttfbMs: 12, totalMs: 15),
                                          segment: segmentObservation(), reference: .hls(liveEdgeSeq: edge), atMs: 0)
        return "\(o.verdict.rawValue)/\(o.reason.rawValue)"
    }

    func testSegmentsNamedAfterChunksAreJudgedByTheirChunks() {
        let fresh = HLSPlaylistSummary.parse(namedPlaylist(chain: 0xabc, from: 45))!
        XCTAssertEqual(fresh.segments.last?.chunk?.seq, 50)
        XCTAssertEqual(fresh.segments.last?.chunk?.chainID, 0xabc)
        XCTAssertNil(HLSPlaylistSummary.Entry(seq: 1, uri: "segment7.ts").chunk)
        // Media sequence 3..8 would look 42 chunks behind; the names say it is current.
        XCTAssertEqual(evaluateNamed(namedPlaylist(chain: 0xabc, from: 45)), "passed/ok")
        XCTAssertEqual(evaluateNamed(namedPlaylist(chain: 0xabc, from: 30, mediaSequence: 400)), "stale/playlist_behind",
                       "a large media sequence does not hide old chunks")
        XCTAssertEqual(evaluateNamed(namedPlaylist(chain: 0xabc, from: 50)), "failed/playlist_ahead")
        XCTAssertEqual(evaluateNamed(namedPlaylist(chain: 0xdef, from: 45)), "failed/playlist_other_chain",
                       "another chain's segments cannot be placed: a failure, never stale")
        XCTAssertEqual(evaluate(playlist: namedPlaylist(chain: 0xabc, from: 45, mediaSequence: 45), segment: segmentObservation()),
                       "passed/ok", "without a chain in the plan the media sequence is used")
    }
}
