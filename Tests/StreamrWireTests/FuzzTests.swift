import Foundation
import NIOCore
import NIOEmbedded
import StreamrWire
import XCTest

/// Mutation fuzzing of the frame decoder and protobuf-c unpacking: every input
/// must decode or fail with a FrameError — never crash, hang or over-allocate.
/// (Deterministic seed so a failure reproduces; see also the libFuzzer target in fuzz/.)
final class FuzzTests: XCTestCase {
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    func testMutatedFramesNeverCrashTheDecoder() throws {
        var rng = SplitMix(state: 0x5eed)
        let seeds = Samples.all.map { Array($0.framed().readableBytesView) }
        var decoded = 0, refused = 0
        for _ in 0..<20_000 {
            var bytes = seeds.randomElement(using: &rng)!
            for _ in 0...Int.random(in: 0...4, using: &rng) {
                switch Int.random(in: 0..<4, using: &rng) {
                case 0 where !bytes.isEmpty: bytes[Int.random(in: 0..<bytes.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
                case 1 where !bytes.isEmpty: bytes.removeLast(Int.random(in: 0...min(8, bytes.count), using: &rng))
                case 2: bytes.insert(UInt8.random(in: 0...255, using: &rng), at: Int.random(in: 0...bytes.count, using: &rng))
                case 3 where !bytes.isEmpty: bytes[0] = UInt8.random(in: 0...255, using: &rng)
                default: break
                }
            }
            let channel = EmbeddedChannel(handler: ByteToMessageHandler(EnvelopeFrameDecoder(maxFrameBytes: 1 << 16)))
            do {
                try channel.writeInbound(ByteBuffer(bytes: bytes))
                while try channel.readInbound(as: Envelope.self) != nil { decoded += 1 }
            } catch is FrameError {
                refused += 1
            }
            _ = try? channel.finish()
        }
        XCTAssertGreaterThan(decoded, 100)
        XCTAssertGreaterThan(refused, 100)
    }
}

/// Inputs the libFuzzer harness (fuzz/run.sh) once crashed on, kept as regressions.
final class FuzzRegressionTests: XCTestCase {
    func testCorpusDecodesOrIsRefused() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Corpus")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".bin") }
        XCTAssertFalse(files.isEmpty)
        for file in files {
            var buffer = ByteBuffer(bytes: try Data(contentsOf: directory.appendingPathComponent(file)))
            var decoder = EnvelopeFrameDecoder()
            do { while try decoder.decode(buffer: &buffer) != nil {} } catch is FrameError {}
        }
    }

    func testOutOfRangeEnumValuesDecodeAsUnknown() throws {
        // status { software: "main" role: <varint beyond int32> } — once a trap in the enum conversion.
        let envelope = try ProtoCodec.decode([0xb2, 0x01, 0x10, 0x0a, 0x04, 0x6d, 0x61, 0x69, 0x6e,
                                              0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x05])
        XCTAssertEqual(envelope.body, .status(Status(software: "main", role: .unspecified, uptimeSeconds: 0)))
    }
}
