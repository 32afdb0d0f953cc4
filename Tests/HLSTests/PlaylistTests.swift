import FLV
@testable import HLS
import XCTest

final class PlaylistTests: XCTestCase {
    private func chunk(_ seq: UInt64, _ first: UInt32, _ last: UInt32) -> Chunk {
        Chunk(seq: seq, firstTimestamp: first, lastTimestamp: last, bytes: [], digest: [], chain: [], tagCount: 0,
              keyframes: [], headers: SequenceHeaders())
    }

    func testLivePlaylist() {
        var playlist = HLSPlaylist()
        playlist.append(.init(seq: 1, durationMs: 2000))
        playlist.append(.init(seq: 2, durationMs: 2033))
        playlist.append(.init(seq: 3, durationMs: 1967))
        XCTAssertEqual(playlist.render(), """
            #EXTM3U
            #EXT-X-VERSION:3
            #EXT-X-TARGETDURATION:2
            #EXT-X-MEDIA-SEQUENCE:1
            #EXTINF:2.000,
            1.ts
            #EXTINF:2.033,
            2.ts
            #EXTINF:1.967,
            3.ts

            """)
        playlist.ended = true
        XCTAssertTrue(playlist.render().hasSuffix("3.ts\n#EXT-X-ENDLIST\n"))
    }

    func testSlidingWindowGapsAndDiscontinuitySequence() {
        var playlist = HLSPlaylist(windowSize: 3)
        for seq: UInt64 in [1, 2, 4, 5] { playlist.append(.init(seq: seq, durationMs: 2000)) }
        XCTAssertEqual(playlist.segments.map(\.seq), [2, 4, 5])
        XCTAssertEqual(playlist.segments.map(\.discontinuity), [false, true, false])
        XCTAssertEqual(playlist.render(), """
            #EXTM3U
            #EXT-X-VERSION:3
            #EXT-X-TARGETDURATION:2
            #EXT-X-MEDIA-SEQUENCE:2
            #EXTINF:2.000,
            2.ts
            #EXT-X-DISCONTINUITY
            #EXTINF:2.000,
            4.ts
            #EXTINF:2.000,
            5.ts

            """)
        playlist.append(.init(seq: 6, durationMs: 1500, discontinuity: true, uri: "seg/6.ts"))
        playlist.append(.init(seq: 7, durationMs: 2000))
        XCTAssertEqual(playlist.discontinuitySequence, 1, "the gap before 4 left the window")
        XCTAssertTrue(playlist.render().contains("#EXT-X-MEDIA-SEQUENCE:5\n#EXT-X-DISCONTINUITY-SEQUENCE:1\n#EXTINF:2.000,\n5.ts\n#EXT-X-DISCONTINUITY\n#EXTINF:1.500,\nseg/6.ts\n"))
    }

    func testDefaultWindowIsSixAndTargetDurationNeverShrinks() {
        var playlist = HLSPlaylist()
        playlist.append(.init(seq: 1, durationMs: 4500))
        for seq: UInt64 in 2...10 { playlist.append(.init(seq: seq, durationMs: 2000)) }
        XCTAssertEqual(playlist.segments.map(\.seq), Array(5...10))
        XCTAssertEqual(playlist.targetDuration, 5, "the 4.5 s segment has left, the target stays")
        var rounded = HLSPlaylist()
        rounded.append(.init(seq: 1, durationMs: 2499))
        XCTAssertEqual(rounded.targetDuration, 2, "EXTINF rounded to the nearest second (RFC 8216 4.3.3.1)")
        XCTAssertEqual(HLSPlaylist().render(), "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:0\n")
    }

    func testDurationsFromChunkTimestamps() {
        let c = chunk(1, 1000, 2967)
        XCTAssertEqual(HLSPlaylist.durationMs(of: c, nextFirstTimestamp: 3000), 2000, "up to the next chunk")
        XCTAssertEqual(HLSPlaylist.durationMs(of: c, nextFirstTimestamp: nil), 1967, "first to last tag")
        XCTAssertEqual(HLSPlaylist.durationMs(of: c, nextFirstTimestamp: 9000), 1967, "a gap is not playing time")
        XCTAssertEqual(HLSPlaylist.durationMs(of: c, nextFirstTimestamp: 0), 1967, "a restart neither")
        XCTAssertEqual(HLSPlaylist.durationMs(of: chunk(1, 0xFFFF_FC18, 967), nextFirstTimestamp: 1000), 2000, "across the 2^32 wrap")

        var playlist = HLSPlaylist()
        playlist.append(chunk: chunk(1, 0, 1967), nextFirstTimestamp: 2000)
        playlist.append(chunk: chunk(2, 2000, 3967), nextFirstTimestamp: 4000)
        playlist.append(chunk: chunk(3, 0, 1967))          // publisher restarted its clock
        playlist.append(chunk: chunk(5, 4000, 5967))       // chunk 4 never arrived
        XCTAssertEqual(playlist.segments.map(\.durationMs), [2000, 2000, 1967, 1967])
        XCTAssertEqual(playlist.segments.map(\.discontinuity), [false, false, true, true])
        XCTAssertEqual(playlist.segments.map(\.uri), ["1.ts", "2.ts", "3.ts", "5.ts"])
    }

    func testSecondsFormatting() {
        XCTAssertEqual(HLSPlaylist.seconds(0), "0.000")
        XCTAssertEqual(HLSPlaylist.seconds(5), "0.005")
        XCTAssertEqual(HLSPlaylist.seconds(2033), "2.033")
        XCTAssertEqual(HLSPlaylist.seconds(12_340), "12.340")
    }

    func testFragmentedMP4Playlist() {
        var playlist = HLSPlaylist(windowSize: 4, format: .fragmentedMP4)
        // The first segment's discontinuity (a first init) has nothing before it: dropped.
        playlist.append(.init(seq: 10, durationMs: 2000, discontinuity: true, uri: "c0ffee-1.m4s", map: "c0ffee-init-1.mp4"))
        playlist.append(.init(seq: 11, durationMs: 2033, uri: "c0ffee-2.m4s", map: "c0ffee-init-1.mp4"))
        // A new init: EXT-X-DISCONTINUITY and EXT-X-MAP, even when the caller forgot the flag.
        playlist.append(.init(seq: 12, durationMs: 1967, uri: "c0ffee-3.m4s", map: "c0ffee-init-2.mp4"))
        playlist.append(.init(seq: 13, durationMs: 2000, uri: "c0ffee-4.m4s", map: "c0ffee-init-2.mp4"))
        XCTAssertEqual(playlist.render(), """
            #EXTM3U
            #EXT-X-VERSION:7
            #EXT-X-INDEPENDENT-SEGMENTS
            #EXT-X-TARGETDURATION:2
            #EXT-X-MEDIA-SEQUENCE:10
            #EXT-X-MAP:URI="c0ffee-init-1.mp4"
            #EXTINF:2.000,
            c0ffee-1.m4s
            #EXTINF:2.033,
            c0ffee-2.m4s
            #EXT-X-DISCONTINUITY
            #EXT-X-MAP:URI="c0ffee-init-2.mp4"
            #EXTINF:1.967,
            c0ffee-3.m4s
            #EXTINF:2.000,
            c0ffee-4.m4s

            """)
        // Sliding on: the window's first segment always gets the map in force; the
        // discontinuity that leaves the window is counted.
        playlist.append(.init(seq: 14, durationMs: 2000, uri: "c0ffee-5.m4s", map: "c0ffee-init-2.mp4"))
        playlist.append(.init(seq: 15, durationMs: 2000, uri: "c0ffee-6.m4s", map: "c0ffee-init-2.mp4"))
        XCTAssertEqual(playlist.discontinuitySequence, 0, "the discontinuity is on c0ffee-3, still listed")
        XCTAssertTrue(playlist.render().contains("#EXT-X-MEDIA-SEQUENCE:12\n#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI=\"c0ffee-init-2.mp4\"\n#EXTINF:1.967,\nc0ffee-3.m4s\n"))
        playlist.append(.init(seq: 16, durationMs: 2000, uri: "c0ffee-7.m4s", map: "c0ffee-init-2.mp4"))
        let text = playlist.render()
        XCTAssertEqual(playlist.discontinuitySequence, 1)
        XCTAssertTrue(text.contains("#EXT-X-MEDIA-SEQUENCE:13\n#EXT-X-DISCONTINUITY-SEQUENCE:1\n#EXT-X-MAP:URI=\"c0ffee-init-2.mp4\"\n#EXTINF:2.000,\nc0ffee-4.m4s\n"), text)
        XCTAssertEqual(text.components(separatedBy: "#EXT-X-MAP").count, 2, "one map for the window")
        XCTAssertFalse(text.contains("#EXT-X-DISCONTINUITY\n"))
    }

    func testMediaSequenceMustGrow() {
        var playlist = HLSPlaylist(format: .fragmentedMP4)
        XCTAssertTrue(playlist.append(.init(seq: 5, durationMs: 2000, uri: "a.m4s", map: "i.mp4")))
        XCTAssertFalse(playlist.append(.init(seq: 5, durationMs: 2000, uri: "b.m4s", map: "i.mp4")), "a repeat")
        XCTAssertFalse(playlist.append(.init(seq: 4, durationMs: 2000, uri: "c.m4s", map: "i.mp4")), "going back")
        XCTAssertEqual(playlist.segments.map(\.uri), ["a.m4s"])
        XCTAssertTrue(playlist.append(.init(seq: 6, durationMs: 2000, uri: "d.m4s", map: "i.mp4")))
        XCTAssertEqual(playlist.segments.map(\.discontinuity), [false, false])
        // The TS form keeps version 3 and no map.
        var ts = HLSPlaylist()
        ts.append(.init(seq: 1, durationMs: 2000, discontinuity: true))
        XCTAssertEqual(ts.render(), "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:1\n#EXTINF:2.000,\n1.ts\n")
    }
}
