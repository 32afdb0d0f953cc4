import FLV
import XCTest

final class FLVParserTests: XCTestCase {
    private func randomTags(_ count: Int, maxSize: Int, _ rng: inout SplitMix64) -> [FLVTag] {
        (0..<count).map { _ in
            let type = FLVTagType.allCases.randomElement(using: &rng)!
            // Mostly small, sometimes up to maxSize; timestamps over the whole 32-bit range.
            let size = Int.random(in: 0...10, using: &rng) == 0 ? Int.random(in: 0...maxSize, using: &rng) : Int.random(in: 0...300, using: &rng)
            let data = (0..<size).map { _ in UInt8.random(in: 0...255, using: &rng) }
            return FLVTag(type: type, timestamp: UInt32.random(in: 0...UInt32.max, using: &rng), data: data)
        }
    }

    private func concat(_ tags: [FLVTag]) -> [UInt8] {
        var out: [UInt8] = []
        for tag in tags { tag.write(into: &out) }
        return out
    }

    /// Feeds `bytes` in slices of random length (1 byte at a time when `maxSlice` is 1).
    private func drip(_ bytes: [UInt8], maxSlice: Int, _ rng: inout SplitMix64, parser: inout FLVParser) throws -> [FLVTag] {
        var tags: [FLVTag] = []
        var at = 0
        while at < bytes.count {
            let n = min(Int.random(in: 1...maxSlice, using: &rng), bytes.count - at)
            tags += try parser.feed(bytes[at..<(at + n)])
            at += n
        }
        try parser.finish()
        return tags
    }

    private func roundTrip(rounds: Int, maxSize: Int, slices: [Int], seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        for round in 0..<rounds {
            let tags = randomTags(30, maxSize: maxSize, &rng)
            let stream = concat(tags)
            let withHeader = FLVFileHeader().serialized() + stream
            for maxSlice in slices + [stream.count] {
                var bare = FLVParser()
                XCTAssertEqual(try drip(stream, maxSlice: maxSlice, &rng, parser: &bare), tags, "round \(round) slice \(maxSlice)")
                XCTAssertNil(bare.fileHeader)
                XCTAssertEqual(bare.consumedByteCount, stream.count)
                var file = FLVParser()
                XCTAssertEqual(try drip(withHeader, maxSlice: maxSlice, &rng, parser: &file), tags)
                XCTAssertEqual(file.fileHeader, FLVFileHeader())
                XCTAssertEqual(file.consumedByteCount, withHeader.count)
            }
            // Re-serializing what was parsed gives the same bytes.
            var parser = FLVParser()
            XCTAssertEqual(concat(try parser.feed(stream)), stream)
        }
    }

    func testRandomSmallTagsRoundTripDownToOneByteSlices() throws {
        try roundTrip(rounds: 30, maxSize: 2000, slices: [1, 2, 7, 100], seed: 42)
    }

    func testRandomLargeTagsRoundTrip() throws {
        try roundTrip(rounds: 4, maxSize: 300_000, slices: [1000, 4096, 65_536, 100_000], seed: 43)
    }

    func testByteAtATimeReturnsEachTagOnItsLastByte() throws {
        let tag = FLVTag(type: .video, timestamp: 0x0102_0304, data: [1, 2, 3])
        let bytes = tag.serialized()
        var parser = FLVParser()
        for (i, byte) in bytes.enumerated() {
            let got = try parser.feed([byte])
            XCTAssertEqual(got, i == bytes.count - 1 ? [tag] : [], "byte \(i)")
        }
        XCTAssertEqual(parser.bufferedByteCount, 0)
    }

    func testSpecVectorParsesToItsFields() throws {
        var parser = FLVParser()
        let tags = try parser.feed(hex("464c5601 04 00000009 00000000  08 000002 020304 01 000000 af01 0000000d"))
        XCTAssertEqual(parser.fileHeader, FLVFileHeader(hasAudio: true, hasVideo: false))
        XCTAssertEqual(tags, [FLVTag(type: .audio, timestamp: 0x0102_0304, data: [0xaf, 0x01])])
    }

    func testHeaderWithLargerDataOffsetSkipsTheExtraBytes() throws {
        var parser = FLVParser()
        let header = hex("464c5601 05 0000000c") + [0xaa, 0xbb, 0xcc] + [0, 0, 0, 0]
        let tag = FLVTag(type: .script, timestamp: 0, data: [2])
        XCTAssertEqual(try drip(header + tag.serialized(), maxSlice: 1, &rngForTests, parser: &parser), [tag])
    }

    private var rngForTests = SplitMix64(seed: 7)

    private func assertThrows(_ bytes: [UInt8], _ expected: FLVError, parser: FLVParser = FLVParser(),
                              file: StaticString = #filePath, line: UInt = #line) {
        // Whole, then byte by byte: the error must be the same however the bytes arrive.
        for slice in [bytes.count, 1] {
            var p = parser
            var thrown: FLVError?
            do {
                var at = 0
                while at < bytes.count {
                    _ = try p.feed(bytes[at..<min(at + slice, bytes.count)])
                    at += slice
                }
                try p.finish()
            } catch {
                thrown = error
            }
            XCTAssertEqual(thrown, expected, "slice \(slice)", file: file, line: line)
            // Once failed, it stays failed.
            XCTAssertThrowsError(try p.feed([8]), file: file, line: line) { XCTAssertEqual($0 as? FLVError, expected) }
        }
    }

    func testErrors() {
        assertThrows(hex("464c5602 05 00000009 00000000"), .unsupportedVersion(2))
        assertThrows(hex("464c5601 05 00000008 00000000"), .badHeaderOffset(8))
        assertThrows(hex("464c5601 05 00000401 00000000"), .badHeaderOffset(1025))
        assertThrows(hex("464c5601 05 00000009 00000001"), .previousTagSizeMismatch(expected: 0, found: 1))
        assertThrows(hex("464c4c01"), .unsupportedTagType(0x46))  // "FLL"
        assertThrows([0x07, 0, 0, 0], .unsupportedTagType(7))
        assertThrows([0x28, 0, 0, 0], .unsupportedTagType(0x28))  // filter (encryption) bit on audio
        assertThrows([0x48, 0, 0, 0], .unsupportedTagType(0x48))  // a reserved bit
        let good = FLVTag(type: .video, timestamp: 1, data: [1, 2]).serialized()
        var badSize = good
        badSize[badSize.count - 1] = 14
        assertThrows(good + badSize, .previousTagSizeMismatch(expected: 13, found: 14))
        assertThrows(good + Array(good.dropLast()), .truncated(bufferedBytes: good.count - 1))
        assertThrows(good + [9, 0], .truncated(bufferedBytes: 2))
        assertThrows(hex("464c5601 05 000000"), .truncated(bufferedBytes: 8))
        assertThrows(hex("464c56"), .truncated(bufferedBytes: 3))
    }

    func testOversizedTagIsRefusedBeforeItsBodyArrives() throws {
        var parser = FLVParser(maxTagDataSize: 100)
        XCTAssertEqual(try parser.feed(FLVTag(type: .video, timestamp: 0, data: [UInt8](repeating: 0, count: 100)).serialized()).count, 1)
        XCTAssertThrowsError(try parser.feed([9, 0, 0, 101])) {
            XCTAssertEqual($0 as? FLVError, .tagTooLarge(size: 101, limit: 100))
        }
        // The default limit is the format's own: the largest DataSize parses header-wise.
        var unlimited = FLVParser()
        XCTAssertEqual(try unlimited.feed([9, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0]), [])
        XCTAssertEqual(unlimited.bufferedByteCount, 11)
    }

    func testPreviousTagSizeCheckCanBeTurnedOff() throws {
        var bytes = FLVTag(type: .audio, timestamp: 3, data: [1]).serialized()
        bytes[bytes.count - 1] = 0
        var parser = FLVParser(verifiesPreviousTagSize: false)
        XCTAssertEqual(try parser.feed(hex("464c5601 05 00000009 00000007") + bytes), [FLVTag(type: .audio, timestamp: 3, data: [1])])
    }

    func testNonArrayCollectionsAndEmptyFeeds() throws {
        let tag = FLVTag(type: .audio, timestamp: 9, data: [4, 5])
        var parser = FLVParser()
        XCTAssertEqual(try parser.feed([UInt8]()), [])
        // A lazily mapped collection has no contiguous storage: the buffered path takes it.
        XCTAssertEqual(try parser.feed(tag.serialized().lazy.map { $0 }), [tag])
        try parser.finish()
    }
}
