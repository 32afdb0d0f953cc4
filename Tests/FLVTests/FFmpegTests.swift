import FLV
import Foundation
import XCTest

/// End to end with a real encoder: ffmpeg makes a 5 s H.264/AAC FLV (a keyframe every second);
/// the parser must read all of it and the chunker cut it at keyframes about 2 s apart.
final class FFmpegTests: XCTestCase {
    private static func ffmpeg() -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/ffmpeg" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    private func makeFLV() throws -> [UInt8] {
        guard let ffmpeg = Self.ffmpeg() else { throw XCTSkip("ffmpeg is not installed") }
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("flvtests-\(UUID().uuidString).flv")
        defer { try? FileManager.default.removeItem(at: out) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ffmpeg)
        process.arguments = ["-hide_banner", "-loglevel", "error", "-nostdin", "-y",
                             "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-f", "lavfi", "-i", "sine",
                             "-t", "5", "-c:v", "libx264", "-g", "30", "-c:a", "aac", "-f", "flv", out.path]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw XCTSkip("ffmpeg failed (status \(process.terminationStatus)); no libx264?") }
        return Array(try Data(contentsOf: out))
    }

    func testParsesEveryTagAndChunksAtKeyframes() throws {
        let file = try makeFLV()
        // Drip-fed in odd slices, as a socket would deliver it.
        var parser = FLVParser()
        var tags: [FLVTag] = []
        var at = 0
        while at < file.count {
            let end = min(at + 1371, file.count)
            tags += try parser.feed(file[at..<end])
            at = end
        }
        try parser.finish()
        XCTAssertEqual(parser.fileHeader, FLVFileHeader(hasAudio: true, hasVideo: true))
        XCTAssertEqual(parser.consumedByteCount, file.count)
        XCTAssertEqual(13 + tags.reduce(0) { $0 + $1.serializedSize }, file.count)

        let kinds = tags.map(\.kind)
        XCTAssertEqual(kinds.first, .metadata)
        // 5 s at 30 fps (AVCPacketType 1), then an end of sequence (2).
        XCTAssertEqual(tags.filter { $0.type == .video && $0.data[1] == 1 }.count, 150)
        XCTAssertEqual(tags.last { $0.type == .video }?.data.prefix(2), [0x17, 0x02])
        XCTAssertGreaterThan(kinds.filter { $0 == .audio(.aac) }.count, 200)             // ~43 a second
        let keyframes = tags.filter { $0.kind.isKeyframe }.map(\.timestamp)
        XCTAssertGreaterThanOrEqual(keyframes.count, 5)

        // Codec configuration, as HLS will read it.
        let video = try XCTUnwrap(tags.first { $0.kind == .videoSequenceHeader(.avc) })
        let record = try AVCDecoderConfigurationRecord(XCTUnwrap(video.codecConfiguration))
        XCTAssertEqual(record.nalLengthSize, 4)
        XCTAssertEqual(record.sequenceParameterSets.count, 1)
        XCTAssertEqual(record.pictureParameterSets.count, 1)
        XCTAssertEqual(record.sequenceParameterSets[0].first.map { $0 & 0x1f }, 7)  // NAL type SPS
        XCTAssertEqual(record.pictureParameterSets[0].first.map { $0 & 0x1f }, 8)   // NAL type PPS
        let audio = try XCTUnwrap(tags.first { $0.kind == .audioSequenceHeader(.aac) })
        let config = try AudioSpecificConfig(XCTUnwrap(audio.codecConfiguration))
        XCTAssertEqual(config.objectType, 2)
        XCTAssertEqual(config.sampleRate, 44100)
        XCTAssertEqual(config.channelConfiguration, 1)

        // Chunks start at the first keyframe at least 2 s after the previous start.
        var chunker = Chunker(hash: sha256)
        var chunks: [Chunk] = []
        for tag in tags { if let sealed = chunker.push(tag).sealed { chunks.append(sealed) } }
        if let last = chunker.finish() { chunks.append(last) }
        var expectedStarts: [UInt32] = []
        for ts in keyframes where expectedStarts.isEmpty || ts - expectedStarts.last! >= 2000 { expectedStarts.append(ts) }
        XCTAssertEqual(chunks.map(\.firstTimestamp), expectedStarts)
        XCTAssertEqual(chunks.count, 3)  // 0, ~2, ~4 s
        XCTAssertTrue(chunks.allSatisfy(\.startsWithKeyframe))
        for (a, b) in zip(chunks, chunks.dropFirst()) {
            XCTAssertGreaterThanOrEqual(b.firstTimestamp - a.firstTimestamp, 2000)
            XCTAssertLessThan(b.firstTimestamp - a.firstTimestamp, 3100)
        }
        // The chunks plus the headers are the whole stream, tag for tag.
        var reparser = FLVParser()
        let media = try reparser.feed(chunks.flatMap(\.bytes))
        XCTAssertEqual(media, tags.filter { !$0.kind.isSequenceHeader && $0.kind != .metadata })
        XCTAssertEqual(chunker.headers.tags.count, 3)
    }
}
