import FLV
@testable import HLS
import XCTest

/// The fMP4 muxer's state across fragments: sequence numbers, decode times, init versions,
/// discontinuities, and its refusals.
final class FMP4MuxerTests: XCTestCase {
    /// tfdt per track id, and the sample durations, read back from a fragment.
    private func timing(_ segment: FMP4Segment) -> [UInt32: (base: UInt64, durations: [UInt32])] {
        var out: [UInt32: (UInt64, [UInt32])] = [:]
        for traf in Box.list(segment.bytes[...])[0].children() where traf.type == "traf" {
            let id = Box.u32(traf.find("tfhd")!.body, 4)
            let base = Box.u64(traf.find("tfdt")!.body, 4)
            let trun = traf.find("trun")!
            let video = Box.u32(trun.body, 0) & 0x400 != 0
            let count = Int(Box.u32(trun.body, 4))
            let durations = (0..<count).map { Box.u32(trun.body, 12 + $0 * (video ? 16 : 8)) }
            out[id] = (base, durations)
        }
        return out
    }

    /// 30 fps video (a keyframe first), AAC every 23 ms, from `start` for `frames` frames.
    private func tags(from start: UInt32, frames: Int = 60, audio: Bool = true, opus: Bool = false) -> [FLVTag] {
        var out: [(UInt32, FLVTag)] = (0..<frames).map { i in
            let ts = start &+ UInt32(i * 100 / 3)
            return (ts, Make.frame(ts, key: i == 0))
        }
        if audio {
            let step = opus ? 20 : 23
            for i in 0..<(frames * 33 / step) {
                let ts = start &+ UInt32(i * step)
                out.append((ts, opus ? Make.opus(ts) : Make.audio(ts)))
            }
        }
        return out.sorted { $0.0 &- start < $1.0 &- start }.map(\.1)
    }

    private func chunk(_ seq: UInt64, _ tags: [FLVTag], headers: SequenceHeaders = Make.headers()) -> Chunk {
        Chunk(seq: seq, firstTimestamp: tags.first!.timestamp, lastTimestamp: tags.last!.timestamp,
              bytes: tags.flatMap { $0.serialized() }, digest: [], chain: [], tagCount: tags.count, keyframes: [], headers: headers)
    }

    func testDecodeTimesRunOnAcrossFragments() throws {
        var muxer = FMP4Muxer()
        var segments: [FMP4Segment] = []
        for i in 0..<3 { segments.append(try muxer.segment(for: chunk(UInt64(i + 1), tags(from: UInt32(i * 2000))))) }
        XCTAssertEqual(segments.map(\.sequenceNumber), [1, 2, 3])
        XCTAssertEqual(segments.map(\.initVersion), [1, 1, 1])
        XCTAssertEqual(segments.map(\.startsNewInit), [true, false, false])
        XCTAssertEqual(segments.map(\.discontinuity), [true, false, false])
        let t = segments.map(timing)
        // Video: FLV time at 90 kHz; each fragment starts where the previous one's times say.
        XCTAssertEqual(t.map { $0[1]!.base }, [0, 180_000, 360_000])
        // The last frame's duration is the fragment's mean interval (the next frame is not
        // known yet): the next fragment's FLV-timed start is within a millisecond of its end.
        for (a, b) in zip(t, t.dropFirst()) {
            let end = a[1]!.base + a[1]!.durations.reduce(0) { $0 + UInt64($1) }
            XCTAssertLessThanOrEqual(abs(Int(end) - Int(b[1]!.base)), 90)
        }
        // Audio: 1024 samples per frame, the next fragment continuing at the sample count
        // (within the tolerance of the FLV time it would otherwise take).
        for (a, b) in zip(t, t.dropFirst()) {
            XCTAssertTrue(a[2]!.durations.allSatisfy { $0 == 1024 })
            XCTAssertEqual(a[2]!.base + UInt64(a[2]!.durations.count * 1024), b[2]!.base)
        }
        XCTAssertTrue(segments.allSatisfy { abs($0.durationMs - 2000) <= 1 }, "\(segments.map(\.durationMs))")
    }

    func testGapsRestartsAndChangedHeaders() throws {
        var muxer = FMP4Muxer()
        _ = try muxer.segment(for: chunk(1, tags(from: 0)))
        // Chunk 3 (2 never came): a new timeline, same init.
        let gap = try muxer.segment(for: chunk(3, tags(from: 4000)))
        XCTAssertEqual([gap.discontinuity, gap.startsNewInit], [true, false])
        XCTAssertEqual(timing(gap)[2]!.base, 4000 * 44_100 / 1000, "audio takes the FLV time after a gap")
        // The publisher restarted its clock: a timestamp jump back is a discontinuity too.
        let restart = try muxer.segment(for: chunk(4, tags(from: 0)))
        XCTAssertTrue(restart.discontinuity)
        XCTAssertEqual(timing(restart)[1]!.base, 0)
        // The same headers again: nothing new. A new AAC configuration: init version 2.
        XCTAssertFalse(try muxer.segment(for: chunk(5, tags(from: 2000))).discontinuity)
        var headers = Make.headers()
        headers.update(with: Make.audioHeader(config: [0x11, 0x90]))
        let changed = try muxer.segment(for: chunk(6, tags(from: 4000), headers: headers))
        XCTAssertEqual([changed.discontinuity, changed.startsNewInit], [true, true])
        XCTAssertEqual(changed.initVersion, 2)
        XCTAssertEqual(muxer.initSegment?.version, 2)
        XCTAssertEqual(Box.u32(Box.list(changed.initSegment.bytes[...])[1].children().filter { $0.type == "trak" }[1].find("mdia/mdhd")!.body, 12),
                       48_000)
        // markDiscontinuity (a fresh subscription): flagged, the numbering goes on.
        muxer.markDiscontinuity()
        let fresh = try muxer.segment(for: chunk(7, tags(from: 6000), headers: headers))
        XCTAssertEqual([fresh.discontinuity, fresh.startsNewInit], [true, false])
        XCTAssertEqual(fresh.sequenceNumber, 6, "the muxer's sixth fragment")
    }

    func testAudioGapInsideAFragmentStretchesTheFrameBeforeIt() throws {
        var muxer = FMP4Muxer()
        // Opus every 20 ms, with 500 ms missing after 100 ms.
        let audio = [0, 20, 40, 60, 80, 100, 600, 620].map { Make.opus(UInt32($0)) }
        var headers = SequenceHeaders()
        headers.update(with: Make.opusHeader())
        let segment = try muxer.segment(tags: audio, headers: headers)
        let durations = timing(segment)[2]!.durations
        XCTAssertEqual(durations, [960, 960, 960, 960, 960, 960 + 480 * 48, 960, 960])
        XCTAssertNil(timing(segment)[1], "no video track fragment")
        XCTAssertEqual(segment.durationMs, 640)
        XCTAssertEqual(segment.initSegment.codecs, "opus")
        // An empty Opus SequenceStart (E-RTMP: "default to mono/stereo") gets a stereo dOps.
        var empty = SequenceHeaders()
        empty.update(with: Make.ex(.audio, 0, 0x90, "Opus", []))
        var other = FMP4Muxer()
        let init_ = try other.segment(tags: [Make.opus(0)], headers: empty).initSegment
        let dOps = Box.list(init_.bytes[...])[1].find("trak/mdia/minf/stbl/stsd/Opus/dOps")
        XCTAssertEqual(dOps.map { Array($0.body) }, [0, 2, 0, 0, 0, 0, 0xBB, 0x80, 0, 0, 0])
    }

    func testWrapOf32BitTimestamps() throws {
        var muxer = FMP4Muxer()
        let before = tags(from: 0xFFFF_FFFF - 1000, frames: 60, audio: false)
        let first = try muxer.segment(tags: before, headers: Make.headers(audio: false))
        let after = try muxer.segment(tags: tags(from: 0xFFFF_FFFF - 1000 &+ 2000, frames: 30, audio: false), headers: Make.headers(audio: false))
        XCTAssertFalse(after.discontinuity)
        XCTAssertEqual(timing(after)[1]!.base, (UInt64(0xFFFF_FFFF) - 1000 + 2000) * 90, "no jump at 2^32 ms")
        XCTAssertTrue(timing(first)[1]!.durations.allSatisfy { $0 >= 2970 && $0 <= 3060 }, "nor inside the fragment that crosses it")
        XCTAssertGreaterThan(timing(after)[1]!.base, timing(first)[1]!.base)
    }

    func testRefusalsLeaveTheMuxerAsItWas() throws {
        var muxer = FMP4Muxer()
        func fails(_ tags: [FLVTag], _ headers: SequenceHeaders, _ expected: HLSError, line: UInt = #line) {
            XCTAssertThrowsError(try muxer.segment(tags: tags, headers: headers), line: line) {
                XCTAssertEqual($0 as? HLSError, expected, line: line)
            }
        }
        fails([Make.frame(0, key: true)], Make.headers(video: false), .missingSequenceHeader(.video))
        fails([Make.opus(0)], Make.headers(), .missingSequenceHeader(.audio))
        fails([Make.frame(0, key: true), Make.videoHeader(10, record: Real.avcRecord.dropLast(3) + [0xFD, 0xF8, 0xF8, 0])],
              Make.headers(), .configurationChangedInsideFragment(.video))
        fails([FLVTag(type: .audio, timestamp: 0, data: [0x91] + Array("Opus".utf8) + [0x7B])], Make.av1Headers(), .invalidOpusPacket(size: 1))
        var noSequenceHeader = SequenceHeaders()
        noSequenceHeader.update(with: Make.ex(.video, 0, 0x90, "av01", [0x81, 0, 0x0C, 0, 0x12, 0x00]))
        fails([], noSequenceHeader, .invalidSequenceParameters(.av1))
        var vp9 = SequenceHeaders()
        vp9.update(with: Make.ex(.video, 0, 0x90, "vp09", [1, 0, 0, 0]))
        fails([], vp9, .unsupportedVideoCodec(.vp9))
        fails([FLVTag(type: .audio, timestamp: 0, data: [0x2F, 0xFF, 0xFB])], Make.headers(), .unsupportedAudioCodec(.mp3))
        fails([FLVTag(type: .script, timestamp: 0, data: [2, 0, 1, 0x41])], SequenceHeaders(), .missingSequenceHeader(.video))  // no track at all
        XCTAssertNil(muxer.initSegment, "no init made by a failed call")
        let ok = try muxer.segment(tags: [Make.frame(0, key: true)], headers: Make.headers())
        XCTAssertEqual(ok.sequenceNumber, 1, "failed calls used no sequence number")
        // A repeated identical header among the tags, and one for a track not yet configured, are taken.
        var videoOnly = FMP4Muxer()
        let adopted = try videoOnly.segment(tags: [Make.videoHeader(), Make.frame(0, key: true), Make.audioHeader(), Make.audio(5)],
                                            headers: Make.headers(audio: false))
        XCTAssertEqual(adopted.initSegment.codecs, "avc1.64000d,mp4a.40.2")
        // Empty tags, sequence ends and E-RTMP metadata are skipped.
        XCTAssertNoThrow(try muxer.segment(tags: [FLVTag(type: .video, timestamp: 0, data: []), FLVTag(type: .video, timestamp: 0, data: [0x17, 2, 0, 0, 0]),
                                                  Make.ex(.video, 0, 0xD4, "avc1", [2, 0, 1])], headers: Make.headers()))
    }

    func testNoiseInChunksNeverTraps() {
        var rng = SplitMix64(seed: 3)
        var muxer = FMP4Muxer()
        let base = tags(from: 0, frames: 10).flatMap { $0.serialized() }
        for _ in 0..<2000 {
            var bytes = base
            for _ in 0..<4 { bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
            let c = Chunk(seq: 1, firstTimestamp: 0, lastTimestamp: 0, bytes: bytes, digest: [], chain: [], tagCount: 0, keyframes: [],
                          headers: Bool.random(using: &rng) ? Make.headers() : Make.av1Headers())
            _ = try? muxer.segment(for: c)
            var ts = TSMuxer()
            _ = try? ts.segment(for: c)
        }
    }
}
