import FLV
import Foundation
@testable import HLS
import XCTest

/// Every rendition checked with tools nobody here wrote: ffmpeg 9 encodes Enhanced RTMP FLV
/// (HEVC, AV1, Opus) or legacy FLV (H.264, AAC); the FLV module parses and chunks it; the
/// muxers make segments and playlists; Debian's ffmpeg must decode the playlist without a
/// word on stderr and ffprobe must find every source packet at its FLV time, keyframes where
/// the source has them, timestamps running on, and (fMP4) the very bytes ffmpeg 9's own FLV
/// demuxer reads from the source.
final class FFmpeg9Tests: XCTestCase {
    private let x264 = ["-c:v", "libx264", "-preset", "ultrafast", "-g", "60", "-bf", "2"]
    private let x265 = ["-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error:keyint=60:min-keyint=60:bframes=2:open-gop=0"]
    private let svtav1 = ["-c:v", "libsvtav1", "-preset", "12", "-g", "60", "-svtav1-params", "lp=1"]
    private let aac = ["-c:a", "aac"]
    private let opus = ["-c:a", "libopus"]

    /// The media tags of a kind the source FLV carries as frames (what a demuxer makes packets of).
    private func frames(_ tags: [FLVTag], _ type: FLVTagType) throws -> [(ts: UInt32, key: Bool)] {
        try tags.filter { $0.type == type && !$0.data.isEmpty }.compactMap { tag in
            if type == .video {
                let p = try VideoPacket(tag.data[...])
                return p.content == .codedFrames ? (tag.timestamp, p.isKeyframe) : nil
            }
            return try AudioPacket(tag.data[...]).content == .codedFrames ? (tag.timestamp, true) : nil
        }
    }

    /// Muxes the chunks to fMP4: init-N.mp4 per init version, SEQ.m4s per chunk, all-N.mp4
    /// (init N and its fragments, for ffprobe) and index.m3u8.
    @discardableResult
    private func writeFMP4(_ chunks: [Chunk], _ t: MediaTools) throws -> (playlist: HLSPlaylist, segments: [FMP4Segment]) {
        var muxer = FMP4Muxer()
        var playlist = HLSPlaylist(format: .fragmentedMP4)
        var segments: [FMP4Segment] = []
        var files: [Int: [UInt8]] = [:]
        for (i, chunk) in chunks.enumerated() {
            let segment = try muxer.segment(for: chunk)
            segments.append(segment)
            let map = "init-\(segment.initVersion).mp4"
            if segment.startsNewInit {
                try t.write(segment.initSegment.bytes, to: map)
                files[segment.initVersion] = segment.initSegment.bytes
            }
            files[segment.initVersion]! += segment.bytes
            try t.write(segment.bytes, to: "\(chunk.seq).m4s")
            let duration = HLSPlaylist.durationMs(of: chunk, nextFirstTimestamp: i + 1 < chunks.count ? chunks[i + 1].firstTimestamp : nil)
            XCTAssertTrue(playlist.append(.init(seq: UInt64(i), durationMs: duration, discontinuity: segment.discontinuity,
                                                uri: "\(chunk.seq).m4s", map: map)))
        }
        playlist.ended = true
        try t.write(Array(playlist.render().utf8), to: "index.m3u8")
        for (version, bytes) in files { try t.write(bytes, to: "all-\(version).mp4") }
        return (playlist, segments)
    }

    /// ffprobe of `file` against the source FLV's tags: codecs, every frame once at its FLV
    /// time (audio within a millisecond: its clock is the sample count), keyframes, decode
    /// times rising and running on from packet to packet, and (when given) the bytes.
    private func checkPackets(_ file: String, tags: [FLVTag], video: String?, audio: String?, _ t: MediaTools,
                              sourceHashes: (video: [String], audio: [String])? = nil, audioRate: Int = 48000,
                              audioFrame: Int, line: UInt = #line) throws {
        let packets = try t.probe(file, line: line)
        let ours = (video: packets.filter(\.video), audio: packets.filter { !$0.video })
        if let video {
            let source = try frames(tags, .video)
            XCTAssertEqual(Set(ours.video.map(\.codec)), [video], line: line)
            XCTAssertEqual(ours.video.count, source.count, "video packets", line: line)
            XCTAssertEqual(ours.video.map(\.dts), source.map { Int($0.ts) * 90 }, "video DTS = FLV time at 90 kHz", line: line)
            XCTAssertEqual(ours.video.map(\.keyframe), source.map(\.key), "keyframes", line: line)
            // ffprobe 5.1 gives fragmented video the mean frame duration, not trun's: the
            // decode times themselves show the timeline runs on, across fragments too.
            for (a, b) in zip(ours.video, ours.video.dropFirst()) {
                XCTAssertTrue(b.dts > a.dts && b.dts - a.dts <= 2 * 3060, "video DTS \(a.dts) -> \(b.dts)", line: line)
            }
            if let hashes = sourceHashes?.video { XCTAssertEqual(ours.video.map(\.hash), hashes, "video bytes as in the FLV", line: line) }
        } else {
            XCTAssertTrue(ours.video.isEmpty, line: line)
        }
        if let audio {
            let source = try frames(tags, .audio)
            XCTAssertEqual(Set(ours.audio.map(\.codec)), [audio], line: line)
            XCTAssertEqual(ours.audio.count, source.count, "audio packets", line: line)
            for (a, b) in zip(ours.audio, ours.audio.dropFirst()) {
                XCTAssertEqual(b.dts, a.dts + audioFrame, "audio runs on sample for sample at \(a.dts)", line: line)
                if a.duration != 0 { XCTAssertEqual(a.duration, audioFrame, line: line) }
            }
            for (p, s) in zip(ours.audio, source) {
                XCTAssertLessThanOrEqual(abs(p.dts * 1000 / audioRate - Int(s.ts)), 1, "audio at its FLV time", line: line)
            }
            if let hashes = sourceHashes?.audio { XCTAssertEqual(ours.audio.map(\.hash), hashes, "audio bytes as in the FLV", line: line) }
        } else {
            XCTAssertTrue(ours.audio.isEmpty, line: line)
        }
    }

    /// One whole fMP4 rendition: encode, chunk, mux, decode the playlist, probe, compare.
    private func fmp4Rendition(video: [String], audio: [String], videoCodec: String, audioCodec: String,
                               codecs: ([FLVTag]) throws -> String, line: UInt = #line) throws {
        let t = try MediaTools.require()
        defer { t.cleanUp() }
        let tags = try t.encode("x.flv", video: video, audio: audio, line: line)
        let chunks = MediaTools.chunks(tags)
        XCTAssertEqual(chunks.count, 2, "keyframes every 2 s in 4 s", line: line)
        let (playlist, segments) = try writeFMP4(chunks, t)
        XCTAssertEqual(segments.map(\.sequenceNumber), [1, 2], line: line)
        XCTAssertEqual(segments.map(\.startsNewInit), [true, false], line: line)
        XCTAssertEqual(segments.map(\.discontinuity), [true, false], line: line)
        XCTAssertEqual(segments[0].initSegment.codecs, try codecs(tags), line: line)
        XCTAssertEqual(segments[0].initSegment.pictureSize, PictureSize(width: 320, height: 240), line: line)
        let text = playlist.render()
        XCTAssertTrue(text.hasPrefix("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-TARGETDURATION:"), text, line: line)
        XCTAssertTrue(text.contains("#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-MAP:URI=\"init-1.mp4\"\n#EXTINF:"), text, line: line)
        XCTAssertTrue(text.contains(",\n1.m4s\n#EXTINF:") && text.hasSuffix(",\n2.m4s\n#EXT-X-ENDLIST\n"), text, line: line)
        XCTAssertFalse(text.contains("DISCONTINUITY"), "nothing before the first segment to be discontinuous with", line: line)

        XCTAssertEqual(try t.decodeErrors("index.m3u8"), "", "ffmpeg decodes the playlist", line: line)
        try checkPackets("all-1.mp4", tags: tags, video: videoCodec, audio: audioCodec, t,
                         sourceHashes: try t.sourceHashes("x.flv"), audioFrame: audioCodec == "aac" ? 1024 : 960, line: line)
        // Each fragment decodes after the init alone, as a player joining there would see it.
        for chunk in chunks {
            let single = try Data(contentsOf: t.dir.appendingPathComponent("init-1.mp4")) + Data(contentsOf: t.dir.appendingPathComponent("\(chunk.seq).m4s"))
            try single.write(to: t.dir.appendingPathComponent("single-\(chunk.seq).mp4"))
            XCTAssertEqual(try t.decodeErrors("single-\(chunk.seq).mp4"), "", "fragment \(chunk.seq) alone", line: line)
        }
    }

    /// avc1.PPCCLL from the SPS the encoder chose (x264's profile depends on its preset).
    private func avc1(_ tags: [FLVTag]) throws -> String {
        let header = try XCTUnwrap(tags.first { $0.kind == .videoSequenceHeader(.avc) })
        let sps = try XCTUnwrap(AVCDecoderConfigurationRecord(XCTUnwrap(header.codecConfiguration)).sequenceParameterSets.first)
        return "avc1." + sps[1...3].map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    func testFMP4WithH264AndAAC() throws {
        try fmp4Rendition(video: x264, audio: aac, videoCodec: "h264", audioCodec: "aac", codecs: { try self.avc1($0) + ",mp4a.40.2" })
    }

    func testFMP4WithHEVCAndAAC() throws {
        try fmp4Rendition(video: x265, audio: aac, videoCodec: "hevc", audioCodec: "aac", codecs: { _ in "hvc1.1.6.L60.90,mp4a.40.2" })
    }

    func testFMP4WithAV1AndOpus() throws {
        try fmp4Rendition(video: svtav1, audio: opus, videoCodec: "av1", audioCodec: "opus", codecs: { _ in "av01.0.00M.08,opus" })
    }

    func testFMP4WithH264AndOpus() throws {
        try fmp4Rendition(video: x264, audio: opus, videoCodec: "h264", audioCodec: "opus", codecs: { try self.avc1($0) + ",opus" })
    }

    /// HEVC + AAC as MPEG-TS: the playlist decodes, ffprobe finds HEVC with every frame at
    /// FLV time x 90 + 1.4 s, its keyframes, and every AAC frame; AV1 and Opus are refused
    /// with the fMP4-only errors.
    func testMPEGTSWithHEVCAndAAC() throws {
        let t = try MediaTools.require()
        defer { t.cleanUp() }
        let tags = try t.encode("x.flv", video: x265, audio: aac)
        let chunks = MediaTools.chunks(tags)
        var muxer = TSMuxer()
        var playlist = HLSPlaylist()
        var all: [UInt8] = []
        for (i, chunk) in chunks.enumerated() {
            let segment = try muxer.segment(for: chunk)
            all += segment
            try t.write(segment, to: "\(chunk.seq).ts")
            playlist.append(chunk: chunk, nextFirstTimestamp: i + 1 < chunks.count ? chunks[i + 1].firstTimestamp : nil)
        }
        playlist.ended = true
        try t.write(Array(playlist.render().utf8), to: "index.m3u8")
        try t.write(all, to: "all.ts")
        XCTAssertEqual(try t.decodeErrors("index.m3u8"), "")
        for chunk in chunks { XCTAssertEqual(try t.decodeErrors("\(chunk.seq).ts"), "", "segment \(chunk.seq)") }
        let debug = try t.run(t.ffprobe, ["-v", "debug", "-show_packets", "all.ts"]).err
        XCTAssertFalse(debug.contains("Continuity check failed"))

        let packets = try t.probe("all.ts")
        let video = packets.filter(\.video), audio = packets.filter { !$0.video }
        let sourceVideo = try frames(tags, .video)
        XCTAssertEqual(Set(video.map(\.codec)), ["hevc"])
        XCTAssertEqual(video.map(\.dts), sourceVideo.map { Int($0.ts) * 90 + 126_000 })
        XCTAssertEqual(video.map(\.keyframe), sourceVideo.map(\.key))
        XCTAssertTrue(zip(video, video.dropFirst()).contains { $0.pts > $1.pts }, "B-frames: PTS out of decode order")
        XCTAssertEqual(Set(audio.map(\.codec)), ["aac"])
        XCTAssertEqual(audio.map(\.pts), try frames(tags, .audio).map { Int($0.ts) * 90 + 126_000 })

        let av1 = MediaTools.chunks(try t.encode("av1.flv", seconds: 1, video: svtav1, audio: opus))
        var fresh = TSMuxer()
        XCTAssertThrowsError(try fresh.segment(for: av1[0])) { XCTAssertEqual($0 as? HLSError, .videoCodecNotInMPEGTS(.av1)) }
        let h264Opus = MediaTools.chunks(try t.encode("opus.flv", seconds: 1, video: x264, audio: opus))
        XCTAssertThrowsError(try fresh.segment(for: h264Opus[0])) { XCTAssertEqual($0 as? HLSError, .audioCodecNotInMPEGTS(.opus)) }
    }

    /// Two encodes back to back, 320x240 then 640x360 (a new encoder configuration, time
    /// running on): the chunker seals at the new sequence header, the fMP4 muxer makes a
    /// second init segment, the playlist puts EXT-X-DISCONTINUITY and the new EXT-X-MAP
    /// before its first segment, and every fragment decodes with its own init.
    func testNewConfigurationGetsANewInitSegmentAndADiscontinuity() throws {
        let t = try MediaTools.require()
        defer { t.cleanUp() }
        let first = try t.encode("a.flv", video: x264, audio: aac)
        let second = try t.encode("b.flv", size: "640x360", video: x264, audio: aac)
        let offset = (first.map(\.timestamp).max() ?? 0) + 33
        let tags = first.filter { !($0.type == .video && $0.data.count == 5 && $0.data[1] == 2) }  // end of sequence
            + second.map { FLVTag(type: $0.type, timestamp: $0.timestamp + offset, data: $0.data) }
        let chunks = MediaTools.chunks(tags)
        XCTAssertEqual(chunks.count, 4)
        let (playlist, segments) = try writeFMP4(chunks, t)
        XCTAssertEqual(segments.map(\.initVersion), [1, 1, 2, 2])
        XCTAssertEqual(segments.map(\.startsNewInit), [true, false, true, false])
        XCTAssertEqual(segments.map(\.discontinuity), [true, false, true, false])
        XCTAssertEqual(segments.map(\.sequenceNumber), [1, 2, 3, 4])
        XCTAssertEqual(segments.map { $0.initSegment.pictureSize?.width }, [320, 320, 640, 640])
        let text = playlist.render()
        XCTAssertTrue(text.contains("2.m4s\n#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI=\"init-2.mp4\"\n#EXTINF:"), text)
        XCTAssertEqual(text.components(separatedBy: "#EXT-X-MAP").count, 3, text)

        for (version, part) in [(1, first), (2, second)] {
            XCTAssertEqual(try t.decodeErrors("all-\(version).mp4"), "", "init \(version) with its fragments")
            let probed = try t.probe("all-\(version).mp4").filter(\.video)
            XCTAssertEqual(probed.count, try frames(part, .video).count)
        }
        // The playlist as a player reads it: each segment after the EXT-X-MAP in force there.
        // (ffmpeg's own HLS demuxer, 5.1 and 9 alike, keeps the first init's decoder
        // configuration across a new EXT-X-MAP, so it cannot be the judge of this.)
        var map: Data?
        var index = 0
        for line in text.split(separator: "\n") {
            if line.hasPrefix("#EXT-X-MAP:URI=\"") {
                map = try Data(contentsOf: t.dir.appendingPathComponent(String(line.dropFirst(16).dropLast())))
            } else if !line.hasPrefix("#") {
                let chunk = chunks[index]
                let name = "play-\(index).mp4"
                try (XCTUnwrap(map) + Data(contentsOf: t.dir.appendingPathComponent(String(line)))).write(to: t.dir.appendingPathComponent(name))
                XCTAssertEqual(try t.decodeErrors(name), "", "segment \(line) after its map")
                let decoded = try t.run(t.ffmpeg, MediaTools.quiet + ["-i", name, "-map", "0:v", "-f", "framemd5", "-"]).out
                let frameLines = String(decoding: decoded, as: UTF8.self).split(separator: "\n").filter { !$0.hasPrefix("#") }
                XCTAssertEqual(frameLines.count, try frames(MediaTools.tags(Data(chunk.bytes)), .video).count, "every frame of \(line)")
                let size = index < 2 ? 320 * 240 * 3 / 2 : 640 * 360 * 3 / 2
                XCTAssertTrue(frameLines.allSatisfy { $0.split(separator: ",")[4].trimmingCharacters(in: .whitespaces) == "\(size)" },
                              "\(line) decodes at its own picture size")
                index += 1
            }
        }
        XCTAssertEqual(index, 4)
    }
}
