import FLV
import Foundation
import HLS
import StreamrTLS
import XCTest

/// The real check, with tools nobody here wrote: ffmpeg encodes 6 s of H.264 (with B-frames,
/// so composition offsets matter) and AAC to FLV; the FLV module parses and chunks it; each
/// chunk becomes a segment. ffmpeg must decode the playlist and every segment without a
/// complaint, ffprobe must find in them the packets ffmpeg's own FLV-to-TS remux has, and the
/// EXTINF durations must be the segments' playing time.
final class FFmpegTests: XCTestCase {
    private struct Packet: Equatable {
        var video: Bool
        var pts: Int
        var dts: Int
        var duration: Int
        var keyframe: Bool
        var hash: String
    }

    private static func tool(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs a tool; returns its stdout and stderr.
    @discardableResult
    private func run(_ tool: String, _ args: [String], in dir: URL, mustSucceed: Bool = true,
                     file: StaticString = #filePath, line: UInt = #line) throws -> (out: Data, err: String, status: Int32) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = args
        process.currentDirectoryURL = dir
        let out = dir.appendingPathComponent("stdout-\(UUID().uuidString)")
        let err = dir.appendingPathComponent("stderr-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        let result = (try Data(contentsOf: out), String(decoding: try Data(contentsOf: err), as: UTF8.self), process.terminationStatus)
        if mustSucceed {
            XCTAssertEqual(process.terminationStatus, 0, "\(tool) \(args.joined(separator: " ")): \(result.1)", file: file, line: line)
        }
        return result
    }

    /// ffprobe's packets (pts/dts in 90 kHz, as MPEG-TS has them) with SHA-256 data hashes.
    private func probe(_ ffprobe: String, _ name: String, in dir: URL) throws -> [Packet] {
        let (out, err, _) = try run(ffprobe, ["-v", "error", "-show_entries", "packet=codec_type,pts,dts,duration,flags,data_hash",
                                           "-show_data_hash", "sha256", "-of", "json", name], in: dir)
        XCTAssertEqual(err, "", "ffprobe \(name)")
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: out) as? [String: Any])
        let packets = try XCTUnwrap(json["packets"] as? [[String: Any]])
        return try packets.map { p in
            Packet(video: p["codec_type"] as? String == "video", pts: try XCTUnwrap(p["pts"] as? Int),
                   dts: try XCTUnwrap(p["dts"] as? Int), duration: p["duration"] as? Int ?? 0,
                   keyframe: (p["flags"] as? String ?? "").hasPrefix("K"), hash: p["data_hash"] as? String ?? "")
        }
    }

    /// The NAL units of an Annex-B byte stream, start codes dropped.
    private func nalUnits(_ bytes: [UInt8]) -> [[UInt8]] {
        var units: [[UInt8]] = []
        var start: Int?
        var i = 0
        while i + 3 <= bytes.count {
            if bytes[i] == 0 && bytes[i + 1] == 0 && bytes[i + 2] == 1 {
                if let s = start { units.append(Array(bytes[s..<i]).reversed().drop { $0 == 0 }.reversed()) }
                start = i + 3
                i += 3
            } else {
                i += 1
            }
        }
        if let s = start { units.append(Array(bytes[s...])) }
        return units
    }

    func testSegmentsDecodeAndCarryWhatFFmpegsOwnRemuxCarries() throws {
        guard let ffmpeg = Self.tool("ffmpeg"), let ffprobe = Self.tool("ffprobe") else { throw XCTSkip("ffmpeg is not installed") }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hlstests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { if ProcessInfo.processInfo.environment["HLS_TESTS_KEEP"] == nil { try? FileManager.default.removeItem(at: dir) } }
        let quiet = ["-hide_banner", "-nostdin", "-y", "-v", "error"]
        let made = try run(ffmpeg, quiet + ["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-f", "lavfi", "-i", "sine=frequency=440",
                                            "-t", "6", "-c:v", "libx264", "-preset", "ultrafast", "-g", "60", "-bf", "2", "-c:a", "aac",
                                            "-f", "flv", "x.flv"], in: dir, mustSucceed: false)
        guard made.status == 0 else { throw XCTSkip("ffmpeg could not make the FLV (no libx264?): \(made.err)") }
        // ffmpeg's own remux, the reference.
        try run(ffmpeg, quiet + ["-i", "x.flv", "-c", "copy", "-bsf:v", "h264_mp4toannexb", "-f", "mpegts", "ref.ts"], in: dir)

        // Parse, chunk, mux, list.
        var parser = FLVParser()
        let tags = try parser.feed(Data(contentsOf: dir.appendingPathComponent("x.flv")))
        try parser.finish()
        var chunker = Chunker(hash: { SHA256Digest.hash($0) })
        var chunks: [Chunk] = []
        for tag in tags { if let sealed = chunker.push(tag).sealed { chunks.append(sealed) } }
        if let last = chunker.finish() { chunks.append(last) }
        XCTAssertEqual(chunks.count, 3, "keyframes every 2 s in 6 s")
        var muxer = TSMuxer()
        var playlist = HLSPlaylist()
        var all = [UInt8]()
        for (i, chunk) in chunks.enumerated() {
            let segment = try muxer.segment(for: chunk)
            all += segment
            try Data(segment).write(to: dir.appendingPathComponent("\(chunk.seq).ts"))
            playlist.append(chunk: chunk, nextFirstTimestamp: i + 1 < chunks.count ? chunks[i + 1].firstTimestamp : nil)
        }
        playlist.ended = true
        try Data(playlist.render().utf8).write(to: dir.appendingPathComponent("index.m3u8"))
        try Data(all).write(to: dir.appendingPathComponent("all.ts"))

        // ffmpeg decodes the playlist and each segment without an error.
        XCTAssertEqual(try run(ffmpeg, quiet + ["-i", "index.m3u8", "-f", "null", "-"], in: dir).err, "")
        // Alone, a segment's start time is its first audio frame's; ffmpeg's CLI would then round
        // the video frames (33/34 ms apart) onto its default 1/30 s output time base, where two
        // can collide ("non monotonically increasing dts"), with ffmpeg's own segments too
        // depending on where their audio starts. Keeping the stream's 90 kHz avoids that.
        for chunk in chunks {
            XCTAssertEqual(try run(ffmpeg, quiet + ["-i", "\(chunk.seq).ts", "-enc_time_base:v", "1/90000", "-f", "null", "-"], in: dir).err,
                           "", "segment \(chunk.seq)")
        }
        // Back to back the segments are one stream: ffmpeg's demuxer finds no continuity gap.
        let debug = try run(ffprobe, ["-v", "debug", "-show_packets", "all.ts"], in: dir).err
        XCTAssertFalse(debug.contains("Continuity check failed"), debug.split(separator: "\n").filter { $0.contains("Continuity") }.joined(separator: "\n"))

        // ffprobe reads every segment; together they hold the reference's packets.
        var segments: [[Packet]] = []
        for chunk in chunks { segments.append(try probe(ffprobe, "\(chunk.seq).ts", in: dir)) }
        XCTAssertTrue(segments.allSatisfy { s in s.contains { $0.video } && s.contains { !$0.video } })
        let ours = segments.flatMap { $0 }
        let reference = try probe(ffprobe, "ref.ts", in: dir)
        let (ourVideo, refVideo) = (ours.filter(\.video), reference.filter(\.video))
        let (ourAudio, refAudio) = (ours.filter { !$0.video }, reference.filter { !$0.video })
        XCTAssertEqual(ourVideo.count, 180)
        XCTAssertEqual(ourVideo.count, refVideo.count)
        XCTAssertEqual(ourAudio.count, refAudio.count)

        // Video: the same timestamps (both FLV ms x 90 + 1.4 s) and keyframes, exactly.
        XCTAssertEqual(ourVideo.map(\.dts), refVideo.map(\.dts))
        XCTAssertEqual(ourVideo.map(\.pts), refVideo.map(\.pts))
        XCTAssertEqual(ourVideo.map(\.keyframe), refVideo.map(\.keyframe))
        XCTAssertTrue(zip(ourVideo, ourVideo.dropFirst()).contains { $0.pts > $1.pts }, "B-frames: PTS out of decode order")
        // Same bytes, except in keyframes: ffmpeg puts the parameter sets after x264's SEI (we
        // put them before it, H.264's order) and gives the IDR slice after them a 3-byte start
        // code. Those access units are compared NAL by NAL below.
        let differing = zip(ourVideo, refVideo).filter { $0.hash != $1.hash }
        XCTAssertTrue(differing.allSatisfy { $0.0.keyframe }, "only keyframes may differ")
        XCTAssertGreaterThan(ourVideo.filter { !$0.keyframe }.count, 170)

        // The whole video elementary streams NAL unit by NAL unit: identical once AUDs and
        // parameter sets are set aside; ours has SPS and PPS before every IDR.
        try run(ffmpeg, quiet + ["-i", "all.ts", "-map", "0:v", "-c", "copy", "-f", "h264", "ours.h264"], in: dir)
        try run(ffmpeg, quiet + ["-i", "ref.ts", "-map", "0:v", "-c", "copy", "-f", "h264", "ref.h264"], in: dir)
        let ourNALs = nalUnits(Array(try Data(contentsOf: dir.appendingPathComponent("ours.h264"))))
        let refNALs = nalUnits(Array(try Data(contentsOf: dir.appendingPathComponent("ref.h264"))))
        XCTAssertGreaterThan(ourNALs.count, 180 * 2)
        let isSliceOrSEI = { (u: [UInt8]) in ![7, 8, 9].contains(u.first.map { $0 & 0x1F } ?? 0) }
        XCTAssertEqual(ourNALs.filter(isSliceOrSEI), refNALs.filter(isSliceOrSEI))
        XCTAssertEqual(ourNALs.filter { $0.first.map { $0 & 0x1F } == 9 }.count, 180, "an AUD per access unit")
        for (i, unit) in ourNALs.enumerated() where unit.first.map({ $0 & 0x1F }) == 5 && ourNALs[i - 1].first.map({ $0 & 0x1F }) != 5 {
            let before = ourNALs[..<i].reversed().prefix { $0.first.map { $0 & 0x1F } != 9 }.map { $0[0] & 0x1F }
            XCTAssertTrue(before.contains(7) && before.contains(8), "SPS and PPS in the IDR access unit")
        }

        // Audio: the same ADTS frames byte for byte; our PTS are the FLV timestamps exactly
        // (a PES per frame), ffmpeg's interpolated within its multi-frame PES: within 2 ms.
        XCTAssertEqual(ourAudio.map(\.hash), refAudio.map(\.hash))
        let flvAudio = tags.filter { $0.kind == .audio(.aac) }.map { Int($0.timestamp) * 90 + 126_000 }
        XCTAssertEqual(ourAudio.map(\.pts), flvAudio)
        for (a, b) in zip(ourAudio, refAudio) { XCTAssertLessThanOrEqual(abs(a.pts - b.pts), 180) }

        // EXTINF is each segment's playing time: its video from the first PTS to the end of
        // the last frame (to the millisecond for all but the last segment, whose next chunk is
        // unknown, within one frame there).
        let extinf = playlist.segments.map(\.durationMs)
        XCTAssertEqual(playlist.segments.map(\.seq), [1, 2, 3])
        for (i, segment) in segments.enumerated() {
            let video = segment.filter(\.video)
            let span = (video.map { $0.pts + $0.duration }.max()! - video.map(\.pts).min()!) / 90
            XCTAssertLessThanOrEqual(abs(span - extinf[i]), i < 2 ? 1 : 34, "segment \(i + 1): \(span) ms vs EXTINF \(extinf[i])")
        }
        let text = playlist.render()
        XCTAssertTrue(text.contains("#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:1\n#EXTINF:2.000,\n1.ts\n#EXTINF:2.000,\n2.ts\n"), text)
    }

    /// The same stream without its video, then without its audio: the segments (PCR on the
    /// audio PID in the first case) decode, and carry every frame of the remaining track.
    func testAudioOnlyAndVideoOnlySegmentsDecode() throws {
        guard let ffmpeg = Self.tool("ffmpeg"), let ffprobe = Self.tool("ffprobe") else { throw XCTSkip("ffmpeg is not installed") }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hlstests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let quiet = ["-hide_banner", "-nostdin", "-y", "-v", "error"]
        let made = try run(ffmpeg, quiet + ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-f", "lavfi", "-i", "sine",
                                            "-t", "5", "-c:v", "libx264", "-preset", "ultrafast", "-g", "50", "-c:a", "aac",
                                            "-f", "flv", "x.flv"], in: dir, mustSucceed: false)
        guard made.status == 0 else { throw XCTSkip("ffmpeg could not make the FLV (no libx264?): \(made.err)") }
        var parser = FLVParser()
        let tags = try parser.feed(Data(contentsOf: dir.appendingPathComponent("x.flv")))
        try parser.finish()
        for keep in [FLVTagType.audio, .video] {
            var chunker = Chunker(hash: { SHA256Digest.hash($0) })
            var chunks: [Chunk] = []
            for tag in tags where tag.type == keep || tag.type == .script {
                if let sealed = chunker.push(tag).sealed { chunks.append(sealed) }
            }
            if let last = chunker.finish() { chunks.append(last) }
            XCTAssertGreaterThanOrEqual(chunks.count, 2, "\(keep)")
            var muxer = TSMuxer()
            var all = [UInt8]()
            for chunk in chunks { all += try muxer.segment(for: chunk) }
            let name = "\(keep).ts"
            try Data(all).write(to: dir.appendingPathComponent(name))
            XCTAssertEqual(try run(ffmpeg, quiet + ["-i", name, "-enc_time_base:v", "1/90000", "-f", "null", "-"], in: dir).err, "", name)
            let packets = try probe(ffprobe, name, in: dir)
            XCTAssertTrue(packets.allSatisfy { $0.video == (keep == .video) }, name)
            let media = tags.filter { $0.type == keep && !$0.kind.isSequenceHeader && (keep == .audio || $0.data[1] == 1) }
            XCTAssertEqual(packets.map(\.dts), media.map { Int($0.timestamp) * 90 + 126_000 }, name)
        }
    }
}
