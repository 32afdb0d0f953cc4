import Foundation
import StreamrWire
import XCTest

/// The wire format is protobuf's, not just ours: Google's `protoc` must read what
/// we write and write what we read.
final class ProtocInteropTests: XCTestCase {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func protoc(_ mode: String, input: Data) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/protoc")
        process.arguments = ["--\(mode)=streamr.Envelope", "-I", Self.repoRoot.appendingPathComponent("proto").path, "streamr.proto"]
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin; process.standardOutput = stdout; process.standardError = stderr
        try process.run()
        stdin.fileHandleForWriting.write(input)
        try stdin.fileHandleForWriting.close()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        let errors = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, String(decoding: errors, as: UTF8.self))
        return output
    }

    func testProtocDecodesWhatWeEncode() throws {
        let envelope = Envelope(id: 4, .heartbeat(Heartbeat(seq: 9, sentUnixMs: 1_764_000_000_000, streams: [
            StreamCounters(stream: "main", viewers: 12, bytesServed: 1 << 40, lastChunkSeq: 77),
        ], bufferHealthMs: 4000)))
        let text = String(decoding: try protoc("decode", input: Data(ProtoCodec.encode(envelope))), as: UTF8.self)
        let expected = """
        id: 4
        heartbeat {
          seq: 9
          sent_unix_ms: 1764000000000
          streams {
            stream: "main"
            viewers: 12
            bytes_served: 1099511627776
            last_chunk_seq: 77
          }
          buffer_health_ms: 4000
        }

        """
        XCTAssertEqual(text, expected)
    }

    func testEverySampleSurvivesProtoc() throws {
        // Ours -> protoc text -> protoc binary -> ours: equal values, for every body.
        for envelope in Samples.all {
            let text = try protoc("decode", input: Data(ProtoCodec.encode(envelope)))
            let binary = try protoc("encode", input: text)
            XCTAssertEqual(try ProtoCodec.decode([UInt8](binary)), envelope, envelope.body.name)
        }
    }

    func testWeDecodeWhatProtocEncodes() throws {
        let text = """
        id: 8
        admin_request { command: "invite" command: "create" arguments { name: "uses" value: "3" } }
        """
        let binary = try protoc("encode", input: Data(text.utf8))
        XCTAssertEqual(try ProtoCodec.decode([UInt8](binary)),
                       Envelope(id: 8, .adminRequest(AdminRequest(command: ["invite", "create"], arguments: [AdminArgument("uses", "3")]))))

        let error = try protoc("encode", input: Data("reply_to: 8 error { code: ERROR_REPLAYED message: \"seq 3 < 5\" }".utf8))
        XCTAssertEqual(try ProtoCodec.decode([UInt8](error)), Envelope(replyTo: 8, .error(ErrorMessage(.replayed, "seq 3 < 5"))))
    }

    /// The validator's reports, field by field as proto/streamr.proto names them.
    func testSpotCheckReportFieldsByName() throws {
        let text = """
        id: 12
        spot_check_report { node_id: "node-0123456789ab" stream: "main" chunk_seq: 5 passed: false reason: "bytes_differ"
          latency_ms: 7 throughput_bps: 800 checked_unix_ms: 1764000000000 report_id: 1764000000000001 kind: "range"
          chain_id: 3735928559 bytes: 40960 verdict: "altered" via_watch: true }
        """
        let binary = try protoc("encode", input: Data(text.utf8))
        let expected = Envelope(id: 12, .spotCheckReport(SpotCheckReport(
            nodeID: "node-0123456789ab", stream: "main", chunkSeq: 5, passed: false, reason: "bytes_differ", latencyMs: 7,
            throughputBps: 800, checkedUnixMs: 1_764_000_000_000, reportID: 1_764_000_000_000_001, kind: "range",
            chainID: 0xdead_beef, bytes: 40960, verdict: "altered", viaWatch: true)))
        XCTAssertEqual(try ProtoCodec.decode([UInt8](binary)), expected)
        let decoded = String(decoding: try protoc("decode", input: Data(ProtoCodec.encode(expected))), as: UTF8.self)
        XCTAssertTrue(decoded.contains("report_id: 1764000000000001"), decoded)
        XCTAssertTrue(decoded.contains("verdict: \"altered\""), decoded)
        XCTAssertTrue(decoded.contains("via_watch: true"), decoded)
    }
}
