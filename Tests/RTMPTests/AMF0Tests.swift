import RTMP
import XCTest

final class AMF0Tests: XCTestCase {
    /// Byte vectors written from the AMF0 specification (section 2).
    func testKnownEncodings() throws {
        let cases: [(AMF0Value, [UInt8])] = [
            (.number(1), [0x00, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0]),
            (.number(-2.5), [0x00, 0xC0, 0x04, 0, 0, 0, 0, 0, 0]),
            (.boolean(true), [0x01, 0x01]),
            (.boolean(false), [0x01, 0x00]),
            (.string("app"), [0x02, 0x00, 0x03, 0x61, 0x70, 0x70]),
            (.string(""), [0x02, 0x00, 0x00]),
            (.string("é"), [0x02, 0x00, 0x02, 0xC3, 0xA9]),
            (.object(["a": .null]), [0x03, 0x00, 0x01, 0x61, 0x05, 0x00, 0x00, 0x09]),
            (.object([:]), [0x03, 0x00, 0x00, 0x09]),
            (.null, [0x05]),
            (.undefined, [0x06]),
            (.ecmaArray(["x": .number(1)]), [0x08, 0, 0, 0, 1, 0x00, 0x01, 0x78, 0x00, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0, 0x00, 0x00, 0x09]),
            (.strictArray([.boolean(true), .null]), [0x0A, 0, 0, 0, 2, 0x01, 0x01, 0x05]),
            (.date(1000, timeZone: 0), [0x0B, 0x40, 0x8F, 0x40, 0, 0, 0, 0, 0, 0x00, 0x00]),
        ]
        for (value, bytes) in cases {
            XCTAssertEqual(AMF0Encoder.encode([value]), bytes, "\(value)")
            XCTAssertEqual(try AMF0Decoder.decodeAll(bytes), [value], "\(value)")
        }
    }

    func testLongString() throws {
        let s = String(repeating: "a", count: 70_000)
        let bytes = AMF0Encoder.encode([.string(s)])
        XCTAssertEqual(Array(bytes[0..<5]), [0x0C, 0x00, 0x01, 0x11, 0x70])
        XCTAssertEqual(try AMF0Decoder.decodeAll(bytes), [.string(s)])
        // A long string marker holding a short string decodes to the same value.
        XCTAssertEqual(try AMF0Decoder.decodeAll([0x0C, 0, 0, 0, 2, 0x68, 0x69]), [.string("hi")])
    }

    func testEcmaArrayCountIsOnlyAHint() throws {
        // ffmpeg and others write count 0 for onMetaData; the end marker decides.
        let bytes: [UInt8] = [0x08, 0, 0, 0, 0, 0x00, 0x01, 0x77, 0x01, 0x01, 0x00, 0x00, 0x09]
        XCTAssertEqual(try AMF0Decoder.decodeAll(bytes), [.ecmaArray(["w": .boolean(true)])])
    }

    func testRoundTripOfAConnectCommand() throws {
        let values: [AMF0Value] = [
            .string("connect"), .number(1),
            .object(["app": .string("live"), "type": .string("nonprivate"), "flashVer": .string("FMLE/3.0 (compatible; FMSc/1.0)"),
                     "tcUrl": .string("rtmp://localhost:1935/live"), "fpad": .boolean(false), "capabilities": .number(15),
                     "nested": .object(["list": .strictArray([.number(1), .ecmaArray(["k": .undefined])]), "when": .date(1.5e12, timeZone: 0)])]),
        ]
        let bytes = AMF0Encoder.encode(values)
        XCTAssertEqual(try AMF0Decoder.decodeAll(bytes), values)
        XCTAssertEqual(values[2].objectValue?["app"], .string("live"))
        XCTAssertNil(values[2].objectValue?["missing"])
    }

    private func expect(_ bytes: [UInt8], _ error: AMF0Error, limits: AMF0Limits = AMF0Limits(),
                        file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try AMF0Decoder.decodeAll(bytes, limits: limits), file: file, line: line) {
            XCTAssertEqual($0 as? AMF0Error, error, file: file, line: line)
            XCTAssertFalse("\($0)".isEmpty)
        }
    }

    func testErrors() {
        expect([0x07, 0x00, 0x01], .referenceNotSupported)
        for marker: UInt8 in [0x04, 0x0D, 0x0E, 0x0F, 0x10, 0x11, 0xFF] { expect([marker], .unsupportedType(marker)) }
        expect([0x00, 0x3F], .truncated)
        expect([0x02, 0x00, 0x05, 0x61], .truncated)
        expect([0x0C, 0xFF, 0xFF, 0xFF, 0xFF], .truncated)
        expect([0x03, 0x00, 0x01, 0x61], .truncated)
        expect([0x03, 0x00, 0x00], .truncated)
        expect([0x02, 0x00, 0x02, 0xC3, 0x28], .invalidUTF8)
        expect([0x09], .unexpectedObjectEnd)
        expect([0x03, 0x00, 0x01, 0x61, 0x09], .unexpectedObjectEnd)
        // A strict array claiming 4 billion elements fails before anything is reserved.
        expect([0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x05], .truncated)
    }

    func testNestingLimit() throws {
        func nestedObjects(_ n: Int) -> [UInt8] {
            var bytes: [UInt8] = []
            for _ in 0 ..< n { bytes += [0x03, 0x00, 0x01, 0x6B] }
            bytes.append(0x05)
            for _ in 0 ..< n { bytes += [0x00, 0x00, 0x09] }
            return bytes
        }
        XCTAssertNoThrow(try AMF0Decoder.decodeAll(nestedObjects(32)))
        expect(nestedObjects(33), .tooDeep(limit: 32))
        // Hostile depth (100,000 levels) fails cleanly instead of exhausting the stack.
        expect([UInt8](repeating: 0x0A, count: 1) + [0, 0, 0, 1] + Array([[UInt8]](repeating: [0x0A, 0, 0, 0, 1], count: 100_000).joined()), .tooDeep(limit: 32))
        expect(Array([[UInt8]](repeating: [0x08, 0, 0, 0, 0, 0x00, 0x01, 0x6B], count: 20_000).joined()), .tooDeep(limit: 32))
        expect(nestedObjects(5), .tooDeep(limit: 4), limits: AMF0Limits(maxDepth: 4))
    }

    func testElementLimit() {
        let many = AMF0Encoder.encode([.strictArray([AMF0Value](repeating: .null, count: 100))])
        XCTAssertNoThrow(try AMF0Decoder.decodeAll(many, limits: AMF0Limits(maxElements: 101)))
        expect(many, .tooManyElements(limit: 50), limits: AMF0Limits(maxElements: 50))
        let obj = AMF0Encoder.encode([.object(AMF0Object((0 ..< 100).map { .init("k\($0)", .null) }))])
        expect(obj, .tooManyElements(limit: 50), limits: AMF0Limits(maxElements: 50))
    }
}
