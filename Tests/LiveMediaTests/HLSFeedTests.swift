import FLV
@testable import LiveMedia
import NIOCore
import XCTest

/// HLSFeed: the two renditions of one stream's chunks, as nodes and the origin serve them
/// (real ffmpeg streams through ingest and node: tests/integration/test-hls-renditions.sh).
final class HLSFeedTests: XCTestCase {
    /// libx264 High@1.3 avcC; libopus OpusHead (mono, 48 kHz), as in the HLS module's tests.
    static let avcRecord: [UInt8] = hex("0164000dffe100196764000dacd94141fb0110000003001000000303c0f142996001000668ebe3cb22c0fdf8f800")
    static let opusHead: [UInt8] = hex("4f707573486561640101380180bb0000000000")

    static func hex(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        var chars = Array(text)[...]
        while chars.count >= 2 { out.append(UInt8(String(chars.prefix(2)), radix: 16)!); chars = chars.dropFirst(2) }
        return out
    }

    static func headers(opus: Bool = false) -> SequenceHeaders {
        var h = SequenceHeaders()
        h.update(with: FLVTag(type: .video, timestamp: 0, data: [0x17, 0x00, 0, 0, 0] + avcRecord))
        h.update(with: opus ? FLVTag(type: .audio, timestamp: 0, data: [0x90] + Array("Opus".utf8) + opusHead)
                            : FLVTag(type: .audio, timestamp: 0, data: [0xaf, 0x00, 0x12, 0x10]))
        return h
    }

    /// Two seconds from `start`: a keyframe, then frames every 33 ms and audio every 20 ms.
    static func chunk(start: UInt32, opus: Bool = false) -> (bytes: ByteBuffer, last: UInt32) {
        var tags: [FLVTag] = []
        var t: UInt32 = 0
        while t < 2000 {
            let ts = start + t
            if t % 33 == 0 || t == 0 {
                let key = t == 0
                let nal: [UInt8] = [key ? 0x65 : 0x41, 0x88, UInt8(truncatingIfNeeded: ts), 0x10]
                tags.append(FLVTag(type: .video, timestamp: ts, data: [key ? 0x17 : 0x27, 0x01, 0, 0, 0, 0, 0, 0, 4] + nal))
            }
            if t % 20 == 0 {
                tags.append(opus ? FLVTag(type: .audio, timestamp: ts, data: [0x91] + Array("Opus".utf8) + [0xF8] + [UInt8](repeating: 7, count: 19))
                                 : FLVTag(type: .audio, timestamp: ts, data: [0xaf, 0x01] + [UInt8](repeating: 7, count: 10)))
            }
            t += 1
        }
        return (ByteBuffer(bytes: tags.flatMap { $0.serialized() }), tags.last!.timestamp)
    }

    func add(_ feed: HLSFeed, chain: UInt64 = 0xabc, seq: UInt64, start: UInt32, opus: Bool = false, newChain: Bool = false) {
        let c = Self.chunk(start: start, opus: opus)
        feed.add(chainID: chain, seq: seq, firstTimestampMs: start, lastTimestampMs: c.last, bytes: c.bytes,
                 headers: Self.headers(opus: opus), newChain: newChain)
    }

    func testBothRenditionsOfTheSameChunksNamedByChunk() throws {
        let feed = HLSFeed(stream: "main")
        XCTAssertNil(feed.playlist(.mpegTS))
        XCTAssertNil(feed.playlist(.fragmentedMP4))
        for seq in 1...3 { add(feed, seq: UInt64(seq), start: UInt32(seq - 1) * 2000) }
        let ts = try XCTUnwrap(feed.playlist(.mpegTS))
        XCTAssertTrue(ts.contains("#EXT-X-MEDIA-SEQUENCE:1\n") && ts.contains("\nabc-1.ts\n") && ts.contains("\nabc-3.ts\n"), ts)
        let fmp4 = try XCTUnwrap(feed.playlist(.fragmentedMP4))
        XCTAssertTrue(fmp4.contains("#EXT-X-VERSION:7"), fmp4)
        XCTAssertTrue(fmp4.contains("#EXT-X-MAP:URI=\"abc-init-1.mp4\"\n#EXTINF:"), fmp4)
        XCTAssertTrue(fmp4.contains("\nabc-1.m4s\n") && fmp4.contains("\nabc-3.m4s\n"), fmp4)
        XCTAssertFalse(fmp4.contains("DISCONTINUITY"), fmp4)

        let initSegment = try XCTUnwrap(feed.file(named: "abc-init-1.mp4"))
        XCTAssertEqual(initSegment.contentType, "video/mp4")
        XCTAssertEqual(initSegment.codecs, "avc1.64000d,mp4a.40.2")
        XCTAssertEqual(feed.codecs, "avc1.64000d,mp4a.40.2")
        XCTAssertEqual(initSegment.bytes.getString(at: 4, length: 4), "ftyp")
        let fragment = try XCTUnwrap(feed.file(named: "abc-2.m4s"))
        XCTAssertEqual(fragment.bytes.getString(at: 4, length: 4), "moof")
        XCTAssertNil(fragment.codecs)
        XCTAssertEqual(feed.file(named: "abc-2.ts")?.contentType, "video/mp2t")
        XCTAssertEqual(feed.file(named: "abc-2.ts")?.bytes.getInteger(at: 0, as: UInt8.self), 0x47)
        XCTAssertNil(feed.file(named: "abc-4.m4s"))
        XCTAssertNil(feed.file(named: "abc-init-2.mp4"))
        XCTAssertNil(feed.refusal(.mpegTS))
    }

    func testOpusIsServedInFMP4OnlyAndTSSaysWhy() throws {
        let feed = HLSFeed(stream: "main")
        for seq in 1...2 { add(feed, seq: UInt64(seq), start: UInt32(seq - 1) * 2000, opus: true) }
        XCTAssertNil(feed.playlist(.mpegTS))
        XCTAssertTrue(feed.refusal(.mpegTS)?.contains("opus") ?? false, feed.refusal(.mpegTS) ?? "no refusal")
        XCTAssertNotNil(feed.playlist(.fragmentedMP4))
        XCTAssertEqual(feed.codecs, "avc1.64000d,opus")

        // The publisher comes back with AAC: TS is possible again, after a discontinuity.
        add(feed, seq: 3, start: 4000)
        XCTAssertNil(feed.refusal(.mpegTS))
        let ts = try XCTUnwrap(feed.playlist(.mpegTS))
        XCTAssertTrue(ts.contains("\nabc-3.ts\n") && !ts.contains("abc-2.ts"), ts)
        let fmp4 = try XCTUnwrap(feed.playlist(.fragmentedMP4))
        XCTAssertTrue(fmp4.contains("#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI=\"abc-init-3.mp4\"\n"), fmp4)
    }

    func testTimestampJumpsAndNewChainsAreDiscontinuitiesWithNewInits() throws {
        let feed = HLSFeed(stream: "main")
        add(feed, seq: 1, start: 0)
        add(feed, seq: 2, start: 2000)
        add(feed, seq: 3, start: 9000)             // a publisher's blink: 5 s missing
        add(feed, chain: 0xdef, seq: 1, start: 0, opus: true, newChain: true)  // the stream again, with Opus
        let fmp4 = try XCTUnwrap(feed.playlist(.fragmentedMP4))
        XCTAssertTrue(fmp4.contains("abc-2.m4s\n#EXT-X-DISCONTINUITY\n#EXTINF:"), fmp4)
        XCTAssertTrue(fmp4.contains("abc-3.m4s\n#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI=\"def-init-1.mp4\"\n"), fmp4)
        XCTAssertNotNil(feed.file(named: "def-init-1.mp4"))
        XCTAssertNotNil(feed.refusal(.mpegTS), "no Opus in TS")

        // Media sequence only grows; once no kept fragment needs the old init, it goes.
        for seq in 2...HLSFeed.kept + 1 { add(feed, chain: 0xdef, seq: UInt64(seq), start: UInt32(seq - 1) * 2000, opus: true) }
        XCTAssertNil(feed.file(named: "abc-init-1.mp4"))
        XCTAssertNil(feed.file(named: "abc-3.m4s"))
        XCTAssertNotNil(feed.file(named: "def-init-1.mp4"))
        let later = try XCTUnwrap(feed.playlist(.fragmentedMP4))
        XCTAssertTrue(later.contains("#EXT-X-MEDIA-SEQUENCE:\(5 + HLSFeed.kept - HLSFeed.windowSize)\n"), later)
        XCTAssertTrue(later.contains("#EXT-X-MAP:URI=\"def-init-1.mp4\""), "the map comes again with the first listed segment: \(later)")
    }

    func testANewChainWithTheSameConfigurationKeepsItsInit() throws {
        let feed = HLSFeed(stream: "main")
        add(feed, seq: 1, start: 0)
        add(feed, seq: 2, start: 2000)
        add(feed, chain: 0xdef, seq: 1, start: 0, newChain: true)
        let fmp4 = try XCTUnwrap(feed.playlist(.fragmentedMP4))
        XCTAssertTrue(fmp4.contains("abc-2.m4s\n#EXT-X-DISCONTINUITY\n#EXTINF:"), fmp4)
        XCTAssertEqual(fmp4.components(separatedBy: "#EXT-X-MAP:").count, 2, "the same init bytes keep their name: \(fmp4)")
        let ts = try XCTUnwrap(feed.playlist(.mpegTS))
        XCTAssertTrue(ts.contains("abc-2.ts\n#EXT-X-DISCONTINUITY\n#EXTINF:"), ts)
    }

    func testHLSPlayersSeenLatelyCount() {
        let feed = HLSFeed(stream: "main")
        feed.noteViewer("10.0.0.1", nowMs: 1_000)
        feed.noteViewer("10.0.0.1", nowMs: 2_000)
        feed.noteViewer("10.0.0.1/abc", nowMs: 2_000)
        feed.noteViewer("10.0.0.2", nowMs: 3_000)
        XCTAssertEqual(feed.viewerCount(nowMs: 3_000), 3)
        XCTAssertEqual(feed.viewerCount(nowMs: 12_500), 1)
        XCTAssertEqual(feed.viewerCount(nowMs: 20_000), 0)
        for i in 0..<(HLSFeed.maxViewerKeys + 10) { feed.noteViewer("a/\(i)", nowMs: 30_000) }
        XCTAssertLessThanOrEqual(feed.viewerCount(nowMs: 30_000), HLSFeed.maxViewerKeys)
    }
}
