import FLV
import Foundation
import StreamrTLS
import XCTest

/// ffmpeg/ffprobe from the system (Debian's 5.1: decodes H.264, HEVC, AV1, AAC, Opus) and
/// the static ffmpeg 9 that encodes HEVC/AV1/Opus into Enhanced RTMP FLV, found through
/// STREAMR_FFMPEG9. Without it the tests that need it skip, or fail when
/// STREAMR_REQUIRE_FFMPEG9=1 (CI installs it: see README, "Tests").
struct MediaTools {
    let ffmpeg: String
    let ffprobe: String
    let ffmpeg9: String
    let dir: URL

    static let quiet = ["-hide_banner", "-nostdin", "-y", "-v", "error"]

    static func tool(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// The tools and a fresh directory (removed by the returned cleanup unless HLS_TESTS_KEEP is set).
    static func require(file: StaticString = #filePath, line: UInt = #line) throws -> MediaTools {
        let env = ProcessInfo.processInfo.environment
        let required = env["STREAMR_REQUIRE_FFMPEG9"] == "1"
        func missing(_ why: String) throws -> Never {
            if required {
                XCTFail("\(why) (STREAMR_REQUIRE_FFMPEG9=1). Install: python3 -m venv .build-tools/venv && "
                    + ".build-tools/venv/bin/pip install imageio-ffmpeg; export STREAMR_FFMPEG9=$(.build-tools/venv/bin/python -c "
                    + "'import imageio_ffmpeg; print(imageio_ffmpeg.get_ffmpeg_exe())')", file: file, line: line)
                throw MissingTool()
            }
            throw XCTSkip(why)
        }
        guard let ffmpeg = tool("ffmpeg"), let ffprobe = tool("ffprobe") else { try missing("ffmpeg/ffprobe are not installed") }
        guard let ffmpeg9 = env["STREAMR_FFMPEG9"], !ffmpeg9.isEmpty else { try missing("STREAMR_FFMPEG9 is not set") }
        guard FileManager.default.isExecutableFile(atPath: ffmpeg9) else { try missing("STREAMR_FFMPEG9=\(ffmpeg9) is not an executable") }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hlstests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return MediaTools(ffmpeg: ffmpeg, ffprobe: ffprobe, ffmpeg9: ffmpeg9, dir: dir)
    }

    struct MissingTool: Error {}

    func cleanUp() {
        if ProcessInfo.processInfo.environment["HLS_TESTS_KEEP"] == nil { try? FileManager.default.removeItem(at: dir) }
    }

    /// Runs a tool in `dir`; returns stdout, stderr and the exit status.
    @discardableResult
    func run(_ tool: String, _ args: [String], mustSucceed: Bool = true, environment: [String: String]? = nil,
             file: StaticString = #filePath, line: UInt = #line) throws -> (out: Data, err: String, status: Int32) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = args
        process.currentDirectoryURL = dir
        if let environment { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
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
        try? FileManager.default.removeItem(at: out)
        try? FileManager.default.removeItem(at: err)
        if mustSucceed {
            XCTAssertEqual(process.terminationStatus, 0, "\(tool) \(args.joined(separator: " ")): \(result.1)", file: file, line: line)
        }
        return result
    }

    /// ffmpeg 9 encodes lavfi test sources to FLV (Enhanced RTMP for HEVC, AV1 and Opus).
    func encode(_ name: String, seconds: Int = 4, size: String = "320x240", video: [String], audio: [String],
                file: StaticString = #filePath, line: UInt = #line) throws -> [FLVTag] {
        let args = Self.quiet + ["-f", "lavfi", "-i", "testsrc2=size=\(size):rate=30",
                                 "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "\(seconds)"]
            + video + audio + ["-f", "flv", name]
        // SVT-AV1 prints its configuration on stderr unless told not to.
        try run(ffmpeg9, args, environment: ["SVT_LOG": "1"], file: file, line: line)
        return try Self.tags(Data(contentsOf: dir.appendingPathComponent(name)))
    }

    static func tags(_ data: Data) throws -> [FLVTag] {
        var parser = FLVParser()
        let tags = try parser.feed(data)
        try parser.finish()
        return tags
    }

    static func chunks(_ tags: [FLVTag]) -> [Chunk] {
        var chunker = Chunker(hash: { SHA256Digest.hash($0) })
        var chunks: [Chunk] = []
        for tag in tags { if let sealed = chunker.push(tag).sealed { chunks.append(sealed) } }
        if let last = chunker.finish() { chunks.append(last) }
        return chunks
    }

    func write(_ bytes: [UInt8], to name: String) throws {
        try Data(bytes).write(to: dir.appendingPathComponent(name))
    }

    struct Packet: Equatable {
        var video: Bool
        var codec: String
        var pts: Int
        var dts: Int
        /// 0 when ffprobe gives none (Opus in MP4 with ffprobe 5.1).
        var duration: Int
        var keyframe: Bool
        var hash: String
    }

    /// ffprobe's packets with SHA-256 data hashes, and its stderr (which must be empty).
    func probe(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> [Packet] {
        let (out, err, _) = try run(ffprobe, ["-v", "error", "-show_entries", "packet=stream_index,codec_type,pts,dts,duration,flags,data_hash:stream=index,codec_name",
                                              "-show_data_hash", "sha256", "-of", "json", name], file: file, line: line)
        XCTAssertEqual(err, "", "ffprobe \(name)", file: file, line: line)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: out) as? [String: Any])
        let streams = try XCTUnwrap(json["streams"] as? [[String: Any]])
        let codecs = Dictionary(uniqueKeysWithValues: streams.map { ($0["index"] as? Int ?? -1, $0["codec_name"] as? String ?? "") })
        let packets = try XCTUnwrap(json["packets"] as? [[String: Any]])
        return try packets.map { p in
            let video = p["codec_type"] as? String == "video"
            return Packet(video: video, codec: codecs[p["stream_index"] as? Int ?? -1] ?? "", pts: try XCTUnwrap(p["pts"] as? Int),
                          dts: try XCTUnwrap(p["dts"] as? Int), duration: p["duration"] as? Int ?? 0,
                          keyframe: (p["flags"] as? String ?? "").hasPrefix("K"),
                          hash: (p["data_hash"] as? String ?? "").replacingOccurrences(of: "SHA256:", with: ""))
        }
    }

    /// ffmpeg 9's own reading of the source FLV: per stream, each packet's SHA-256 (its
    /// framehash muxer), to compare with what ends up in our fragments.
    func sourceHashes(_ name: String) throws -> (video: [String], audio: [String]) {
        let out = try run(ffmpeg9, Self.quiet + ["-i", name, "-c", "copy", "-f", "framehash", "-hash", "sha256", "-"]).out
        var mediaType: [String: String] = [:]
        var video: [String] = [], audio: [String] = []
        for line in String(decoding: out, as: UTF8.self).split(separator: "\n") {
            if line.hasPrefix("#media_type ") {
                let parts = line.dropFirst("#media_type ".count).split(separator: ":")
                mediaType[String(parts[0])] = parts[1].trimmingCharacters(in: .whitespaces)
            } else if !line.hasPrefix("#") {
                let fields = line.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                guard fields.count >= 6 else { continue }
                if mediaType[fields[0]] == "video" { video.append(fields[5]) } else { audio.append(fields[5]) }
            }
        }
        return (video, audio)
    }

    /// `ffmpeg -v error -i NAME -f null -`: the decoder's complaints (none expected). The
    /// 90 kHz output time base keeps the CLI from rounding 33/34 ms frames together.
    func decodeErrors(_ name: String, extra: [String] = [], using tool: String? = nil) throws -> String {
        try run(tool ?? ffmpeg, Self.quiet + ["-i", name] + extra + ["-enc_time_base:v", "1/90000", "-f", "null", "-"], mustSucceed: false).err
    }
}
