import FLV
import XCTest

final class SequenceHeadersTests: XCTestCase {
    func testKeepsTheLatestOfEachInFileOrder() {
        var headers = SequenceHeaders()
        XCTAssertTrue(headers.isEmpty)
        XCTAssertEqual(headers.update(with: Make.audioHeader(0)), .changed)
        XCTAssertEqual(headers.update(with: Make.videoHeader(0)), .changed)
        XCTAssertEqual(headers.update(with: Make.metadata(0)), .changed)
        XCTAssertEqual(headers.update(with: Make.frame(0, key: true)), .notAHeader)
        XCTAssertEqual(headers.update(with: Make.audio(0)), .notAHeader)
        XCTAssertEqual(headers.tags, [Make.metadata(0), Make.videoHeader(0), Make.audioHeader(0)])
        XCTAssertEqual(headers.serialized(), [Make.metadata(0), Make.videoHeader(0), Make.audioHeader(0)].flatMap { $0.serialized() })
        // Repeated: unchanged, but the newer tag (timestamp) is kept.
        XCTAssertEqual(headers.update(with: Make.videoHeader(5000)), .unchanged)
        XCTAssertEqual(headers.video?.timestamp, 5000)
        // New configuration mid-stream.
        XCTAssertEqual(headers.update(with: Make.audioHeader(6000, config: [0x11, 0x90])), .changed)
        XCTAssertEqual(headers.audio, Make.audioHeader(6000, config: [0x11, 0x90]))
        XCTAssertEqual(headers.update(with: Make.exVideo(7000, frameType: 1, packetType: 0, fourCC: "hvc1")), .changed)
        XCTAssertEqual(headers.video?.kind, .videoSequenceHeader(.hevc))
    }

    func testFileHeaderPlusHeadersParse() throws {
        var headers = SequenceHeaders()
        headers.update(with: Make.metadata(0))
        headers.update(with: Make.videoHeader(0))
        var parser = FLVParser()
        XCTAssertEqual(try parser.feed(FLVFileHeader().serialized() + headers.serialized()), headers.tags)
    }
}
