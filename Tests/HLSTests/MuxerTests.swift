import FLV
@testable import HLS
import XCTest

/// Whole segments from hand-made tags, read back with the independent reader in TestSupport.
final class MuxerTests: XCTestCase {
    /// 30 fps video with a keyframe first and B-frame style composition offsets, AAC every
    /// 23 ms, interleaved by time.
    private func tags(from start: UInt32 = 0, frames: Int = 10, video: Bool = true, audio: Bool = true) -> [FLVTag] {
        var out: [(UInt32, FLVTag)] = []
        if video {
            for i in 0..<frames {
                let ts = start &+ UInt32(i * 100 / 3)
                out.append((ts, Make.frame(ts, key: i == 0, cts: i % 3 == 0 ? 67 : 0)))
            }
        }
        if audio {
            for i in 0..<(frames * 33 / 23) { out.append((start &+ UInt32(i * 23), Make.audio(start &+ UInt32(i * 23), size: 50 + i))) }
        }
        return out.enumerated().sorted { ($0.element.0 &- start, $0.offset) < ($1.element.0 &- start, $1.offset) }.map(\.element.1)
    }

    private func chunks(_ tags: [FLVTag], headers: SequenceHeaders = Make.headers()) -> [Chunk] {
        var chunker = Chunker(hash: sha256)
        var out: [Chunk] = []
        for tag in headers.tags + tags { if let c = chunker.push(tag).sealed { out.append(c) } }
        if let c = chunker.finish() { out.append(c) }
        return out
    }

    func testSegmentStructure() throws {
        let input = tags()
        var muxer = TSMuxer()
        let ts = try muxer.segment(tags: input, headers: Make.headers())
        XCTAssertEqual(ts.count % 188, 0)
        let packets = TSPacket.split(ts)
        XCTAssertTrue(packets.allSatisfy { $0.bytes.first == 0x47 })
        XCTAssertEqual(packets[0].pid, 0)
        XCTAssertEqual(Array(packets[0].payload.dropFirst().prefix(Real.ffmpegPAT.count)), Real.ffmpegPAT)
        XCTAssertEqual(packets[1].pid, 0x1000)
        XCTAssertEqual(Array(packets[1].payload.dropFirst().prefix(Real.ffmpegPMT.count)), Real.ffmpegPMT)
        XCTAssertEqual(Set(packets.map(\.pid)), [0, 0x1000, 0x100, 0x101])

        let videoTags = input.filter { $0.type == .video }
        let video = PESPacket.read(ts, pid: 0x100)
        XCTAssertEqual(video.count, videoTags.count)
        for (pes, tag) in zip(video, videoTags) {
            let dts = UInt64(tag.timestamp) * 90 + 126_000
            let cts = UInt64(tag.data[4])
            XCTAssertEqual(pes.streamID, 0xE0)
            XCTAssertEqual(pes.length, 0)
            XCTAssertEqual(pes.dts, dts)
            XCTAssertEqual(pes.pts, dts + cts * 90)
            XCTAssertEqual(pes.first.pcr, dts - 63_000, "PCR on every video PES")
            XCTAssertEqual(pes.first.randomAccess, tag.kind.isKeyframe)
            let slice = Array(tag.data[9...])
            let sc: [UInt8] = [0, 0, 0, 1]
            let parameterSets = tag.kind.isKeyframe ? sc + Real.sps + sc + Real.pps : []
            XCTAssertEqual(pes.payload, sc + [0x09, 0xF0] + parameterSets + sc + slice)
        }

        let audioTags = input.filter { $0.type == .audio }
        let audio = PESPacket.read(ts, pid: 0x101)
        XCTAssertEqual(audio.count, audioTags.count)
        for (pes, tag) in zip(audio, audioTags) {
            XCTAssertEqual(pes.streamID, 0xC0)
            XCTAssertEqual(pes.pts, UInt64(tag.timestamp) * 90 + 126_000)
            XCTAssertEqual(pes.length, 8 + 7 + tag.data.count - 2)
            XCTAssertNil(pes.first.pcr, "PCR only on the video PID")
            let raw = Array(tag.data[2...])
            XCTAssertEqual(pes.payload, try ADTSHeader(AudioSpecificConfig([0x12, 0x10])).bytes(payloadSize: raw.count) + raw)
        }
    }

    func testCountersContinueAcrossSegmentsAndRestartAfterAGap() throws {
        var all = tags(frames: 200)  // keyframe only at 0: give the chunker more
        for i in stride(from: 60, to: 200, by: 60) { all[all.firstIndex { $0.timestamp == UInt32(i * 100 / 3) && $0.type == .video }!] = Make.frame(UInt32(i * 100 / 3), key: true) }
        let chunks = chunks(all)
        XCTAssertEqual(chunks.count, 4)  // keyframes at 0, 2, 4 and 6 s
        var muxer = TSMuxer()
        var next: [UInt16: UInt8] = [:]
        for chunk in chunks.prefix(2) {
            let packets = TSPacket.split(try muxer.segment(for: chunk))
            for p in packets {
                if let expected = next[p.pid] { XCTAssertEqual(p.continuityCounter, expected, "PID \(p.pid) in chunk \(chunk.seq)") }
                next[p.pid] = (p.continuityCounter + 1) & 0x0F
                XCTAssertFalse(p.discontinuity)
            }
        }
        XCTAssertEqual(next.count, 4)
        // Chunk 2 muxed again (a seq that does not follow 2): a fresh start, flagged.
        let packets = TSPacket.split(try muxer.segment(for: chunks[1]))
        var firsts: Set<UInt16> = []
        for p in packets where firsts.insert(p.pid).inserted {
            XCTAssertEqual(p.continuityCounter, 0)
            XCTAssertTrue(p.discontinuity, "first packet of PID \(p.pid)")
        }
        XCTAssertEqual(packets.filter(\.discontinuity).count, 4)
        // Chunk 3 follows it again: no flags.
        XCTAssertFalse(TSPacket.split(try muxer.segment(for: chunks[2])).contains { $0.discontinuity })
    }

    func testAudioOnlyAndVideoOnly() throws {
        var muxer = TSMuxer()
        let audio = try muxer.segment(tags: tags(video: false), headers: Make.headers(video: false))
        let audioPMT = PSI.pmt(pcrPID: 0x101, streams: [PSI.Stream(type: 0x0F, pid: 0x101)], version: 0)
        XCTAssertEqual(Array(TSPacket.split(audio)[1].payload.dropFirst().prefix(audioPMT.count)), audioPMT)
        let pes = PESPacket.read(audio, pid: 0x101)
        XCTAssertFalse(pes.isEmpty)
        for p in pes {
            XCTAssertEqual(p.first.pcr, p.pts! - 63_000, "PCR on the audio PID without video")
            XCTAssertTrue(p.first.randomAccess)
        }
        XCTAssertTrue(PESPacket.read(audio, pid: 0x100).isEmpty)

        // The programme changed: the PMT version moves on.
        let video = try muxer.segment(tags: tags(audio: false), headers: Make.headers(audio: false))
        let pmt = PSI.pmt(pcrPID: 0x100, streams: [PSI.Stream(type: 0x1B, pid: 0x100)], version: 1)
        XCTAssertEqual(Array(TSPacket.split(video)[1].payload.dropFirst().prefix(pmt.count)), pmt)
        XCTAssertEqual(PESPacket.read(video, pid: 0x100).count, 10)
        XCTAssertTrue(PESPacket.read(video, pid: 0x101).isEmpty)
    }

    func testTimestampsAcrossThe32BitWrapAndNegativeCTS() throws {
        var muxer = TSMuxer()
        let tags = [Make.frame(0xFFFF_FFF0, key: true, cts: -10), Make.frame(0x10, cts: 0x7FFFFF)]
        let pes = PESPacket.read(try muxer.segment(tags: tags, headers: Make.headers(audio: false)), pid: 0x100)
        let first = (UInt64(0xFFFF_FFF0) * 90 + 126_000) & 0x1_FFFF_FFFF
        XCTAssertEqual(pes.map(\.dts), [first, (first + 32 * 90) & 0x1_FFFF_FFFF])
        XCTAssertEqual(pes[0].pts, first - 900)
        XCTAssertEqual(pes[1].pts, (first + 32 * 90 + 0x7FFFFF * 90) & 0x1_FFFF_FFFF)
    }

    func testBadInputThrowsTypedErrorsAndLeavesTheMuxerAlone() throws {
        var muxer = TSMuxer()
        let good = try muxer.segment(tags: tags(), headers: Make.headers())
        let before = muxer.continuityForTests
        func fails(_ tags: [FLVTag], _ headers: SequenceHeaders, _ expected: HLSError, line: UInt = #line) {
            XCTAssertThrowsError(try muxer.segment(tags: tags, headers: headers), line: line) {
                XCTAssertEqual($0 as? HLSError, expected, line: line)
            }
        }
        fails([Make.frame(0, key: true)], Make.headers(video: false), .missingSequenceHeader(.video))
        fails([Make.audio(0)], Make.headers(audio: false), .missingSequenceHeader(.audio))
        fails([Make.frame(0, key: true)], SequenceHeaders(), .missingSequenceHeader(.video))
        // VP9 is muxed by neither; AV1 and Opus by fMP4 only, with an error that says so.
        var vp9 = SequenceHeaders()
        vp9.update(with: FLVTag(type: .video, timestamp: 0, data: [0x90] + Array("vp09".utf8) + [1, 2, 3]))
        fails([], vp9, .unsupportedVideoCodec(.vp9))
        fails([FLVTag(type: .video, timestamp: 0, data: [0x91] + Array("av01".utf8) + [0x12, 0])], Make.headers(),
              .missingSequenceHeader(.video))  // frames of another codec than the header's
        fails([], Make.av1Headers(), .videoCodecNotInMPEGTS(.av1))
        fails([], Make.opusHeaders(), .audioCodecNotInMPEGTS(.opus))
        fails([FLVTag(type: .video, timestamp: 0, data: [0x17, 1, 0])], Make.headers(),
              .packet(.truncated(type: .video, field: "CompositionTime", size: 3)))
        fails([FLVTag(type: .audio, timestamp: 0, data: [0xaf])], Make.headers(), .packet(.truncated(type: .audio, field: "AACPacketType", size: 1)))
        fails([FLVTag(type: .audio, timestamp: 0, data: [0x2f, 1, 2])], Make.headers(), .unsupportedAudioCodec(.mp3))
        fails([Make.videoHeader(0, record: [1, 100])], Make.headers(),
              .codecConfiguration(.truncated(field: "profile_compatibility", needed: 3, available: 2)))
        fails([Make.audioHeader(0, config: [0x11, 0x80])], Make.headers(),
              .unsupportedAudioConfiguration(try AudioSpecificConfig([0x11, 0x80])))
        // An Enhanced RTMP avc1 frame is read like a legacy one: here its NAL length is short.
        fails([FLVTag(type: .video, timestamp: 0, data: [0x91] + Array("avc1".utf8) + [0, 0, 0, 1, 2])], Make.headers(),
              .truncatedNALUnit(offset: 0, needed: 4, available: 2))
        fails([Make.frame(0, key: true), Make.frame(33, nals: [[0x41]]), FLVTag(type: .video, timestamp: 66, data: [0x27, 1, 0, 0, 0, 0, 0, 9])],
              Make.headers(), .truncatedNALUnit(offset: 0, needed: 4, available: 3))
        // Not FLV at all, through the chunk entry point.
        let garbage = Chunk(seq: 1, firstTimestamp: 0, lastTimestamp: 0, bytes: [0x09, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x17, 0, 0, 0, 99],
                            digest: [], chain: [], tagCount: 1, keyframes: [], headers: Make.headers())
        XCTAssertThrowsError(try muxer.segment(for: garbage)) {
            XCTAssertEqual($0 as? HLSError, .flv(.previousTagSizeMismatch(expected: 12, found: 99)))
        }
        XCTAssertEqual(muxer.continuityForTests, before, "a failed segment changes nothing")
        // Empty frames and end-of-sequence tags are skipped, not errors.
        XCTAssertNoThrow(try muxer.segment(tags: [FLVTag(type: .video, timestamp: 0, data: []), FLVTag(type: .video, timestamp: 0, data: [0x17, 2, 0, 0, 0])],
                                           headers: Make.headers()))
        XCTAssertGreaterThan(good.count, 0)
    }
}

extension MuxerTests {
    /// HEVC from Enhanced RTMP tags: stream type 0x24, HEVC AUD (type 35) first, VPS/SPS/PPS
    /// before the IRAP picture only, PTS from CodedFrames' composition time, 0 for CodedFramesX.
    func testHEVCSegment() throws {
        let tags = [Make.hevcFrame(0, key: true, cts: 67), Make.hevcFrame(33), Make.audio(10), Make.hevcFrame(67, cts: 33)]
        var muxer = TSMuxer()
        let ts = try muxer.segment(tags: tags, headers: Make.hevcHeaders())
        let packets = TSPacket.split(ts)
        let pmt = PSI.pmt(pcrPID: 0x100, streams: [PSI.Stream(type: 0x24, pid: 0x100), PSI.Stream(type: 0x0F, pid: 0x101)], version: 0)
        XCTAssertEqual(Array(packets[1].payload.dropFirst().prefix(pmt.count)), pmt)
        let video = PESPacket.read(ts, pid: 0x100)
        XCTAssertEqual(video.count, 3)
        let sc: [UInt8] = [0, 0, 0, 1]
        let aud: [UInt8] = [0x46, 0x01, 0x50]
        let vps: [UInt8] = sc + Real.hevcVPS
        let parameterSets: [UInt8] = vps + sc + Real.hevcSPS + sc + Real.hevcPPS
        let idr: [UInt8] = [0x26, 0x01, 0xAF]
        XCTAssertEqual(video[0].payload, sc + aud + parameterSets + sc + idr + [0])
        XCTAssertEqual(video[1].payload, sc + aud + sc + [0x02, 0x01, 0xD0, 33])
        let dts: [UInt64] = [0, 33, 67].map { 126_000 + $0 * 90 }
        let pts: [UInt64] = [67, 33, 100].map { 126_000 + $0 * 90 }
        XCTAssertEqual(video.map(\.dts), dts)
        XCTAssertEqual(video.map(\.pts), pts)
        XCTAssertEqual(video.map(\.first.randomAccess), [true, false, false])
        // An in-band VPS/SPS/PPS (and an AUD) is not repeated.
        let inBand = Make.hevcFrame(100, key: true, nals: [[0x46, 0x01, 0x50], Real.hevcVPS, Real.hevcSPS, Real.hevcPPS, [0x28, 0x01, 0xAF]])
        let again = PESPacket.read(try muxer.segment(tags: [inBand], headers: Make.hevcHeaders(audio: false)), pid: 0x100)
        let cra: [UInt8] = [0x28, 0x01, 0xAF]
        XCTAssertEqual(again[0].payload, sc + aud + parameterSets + sc + cra)
        // Legacy CodecID 12 HEVC tags are read the same way.
        var legacy = SequenceHeaders()
        legacy.update(with: FLVTag(type: .video, timestamp: 0, data: [0x1C, 0, 0, 0, 0] + Real.hevcRecord))
        let legacyFrame = FLVTag(type: .video, timestamp: 0, data: [0x1C, 1, 0, 0, 0, 0, 0, 0, 3, 0x26, 0x01, 0xAF])
        let expected: [UInt8] = sc + aud + parameterSets + sc + idr
        XCTAssertEqual(PESPacket.read(try muxer.segment(tags: [legacyFrame], headers: legacy), pid: 0x100)[0].payload, expected)
    }
}

extension TSMuxer {
    var continuityForTests: [UInt16: UInt8] { packetizer.continuity }
}
