@testable import Validation
import XCTest

final class EvaluatorTests: XCTestCase {
    let chunkBytes: [UInt8] = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }

    func evaluate(_ p: PlannedProbe, _ o: HTTPObservation, _ reference: ProbeReference) -> ProbeOutcome {
        OutcomeEvaluator.evaluate(p, o, reference: reference, atMs: 1)
    }

    func rangeObservation(_ p: PlannedProbe, status: Int = 206, body: [UInt8]? = nil, error: TransportError? = nil) -> HTTPObservation {
        let r = p.range!
        let bytes = body ?? Array(status == 206 ? chunkBytes[r.offset..<r.end] : chunkBytes[0..<r.end])
        return HTTPObservation(error: error, status: status,
                               headers: status == 206 ? [HTTPHeader("Content-Range", "bytes \(r.offset)-199999/200000")] : [],
                               body: bytes, ttfbMs: 40, totalMs: 60)
    }

    func expected(_ p: PlannedProbe) -> ProbeReference { .bytes(chunkBytes[p.range!.offset..<p.range!.end]) }

    func testRangePasses() {
        let p = plan(kind: .range)
        let o = evaluate(p, rangeObservation(p), expected(p))
        XCTAssertEqual(o.verdict, .passed)
        XCTAssertEqual(o.reason, .ok)
        XCTAssertEqual(o.ttfbMs, 40)
        XCTAssertEqual(o.throughputBps, UInt64(p.range!.length) * 8000 / 20)
        XCTAssertEqual(o.chunkSeq, p.chunkSeq)
        // A server that ignores Range and answers 200 from byte 0 is compared at the offset.
        XCTAssertEqual(evaluate(p, rangeObservation(p, status: 200), expected(p)).verdict, .passed)
    }

    func testOneChangedByteIsAltered() {
        let p = plan(kind: .range)
        var body = Array(chunkBytes[p.range!.offset..<p.range!.end])
        body[body.count / 2] ^= 0x01
        let o = evaluate(p, rangeObservation(p, body: body), expected(p))
        XCTAssertEqual(o.verdict, .altered)
        XCTAssertEqual(o.reason.rawValue, "bytes_differ")
    }

    func testCutShortIsAFailureUnlessWhatCameDiffers() {
        let p = plan(kind: .range)
        let r = p.range!
        let prefix = Array(chunkBytes[r.offset..<r.offset + 1000])
        XCTAssertEqual(evaluate(p, rangeObservation(p, body: prefix), expected(p)).reason, .shortBody)
        XCTAssertEqual(evaluate(p, rangeObservation(p, body: prefix, error: .reset), expected(p)).reason.rawValue, "reset")
        var bad = prefix
        bad[10] ^= 0xFF
        XCTAssertEqual(evaluate(p, rangeObservation(p, body: bad, error: .reset), expected(p)).verdict, .altered,
                       "TCP delivers a correct prefix or nothing: wrong bytes are evidence even when cut")
    }

    func testTransportAndStatusFailures() {
        let p = plan(kind: .range)
        for error in TransportError.allCases {
            let o = evaluate(p, HTTPObservation(error: error, totalMs: 3000), expected(p))
            XCTAssertEqual(o.verdict, .failed)
            XCTAssertEqual(o.reason.rawValue, error.rawValue)
        }
        let notFound = evaluate(p, HTTPObservation(status: 404, body: Array("not kept here".utf8), ttfbMs: 5, totalMs: 6), expected(p))
        XCTAssertEqual(notFound.verdict, .failed)
        XCTAssertEqual(notFound.reason.rawValue, "http_404")
        XCTAssertEqual(evaluate(p, HTTPObservation(status: 503, totalMs: 6), expected(p)).reason.rawValue, "http_503")
        // 206 from the wrong place, or without a Content-Range.
        let r = p.range!
        let misplaced = HTTPObservation(status: 206, headers: [HTTPHeader("Content-Range", "bytes \(r.offset + 1)-199999/200000")],
                                        body: Array(chunkBytes[r.offset + 1..<r.end]), totalMs: 5)
        XCTAssertEqual(evaluate(p, misplaced, expected(p)).reason, .badContentRange)
        XCTAssertEqual(evaluate(p, HTTPObservation(status: 206, body: [1], totalMs: 5), expected(p)).reason, .badContentRange)
    }

    func testWholeChunkDigest() {
        let p = plan(kind: .chunk)
        let digest = [UInt8](repeating: 7, count: 32)
        let ref = ProbeReference.chunk(digest: digest, size: 200_000)
        func obs(bytes: Int = 200_000, digest d: [UInt8]? = digest, totalMs: Int = 100, error: TransportError? = nil) -> HTTPObservation {
            HTTPObservation(error: error, status: 200, bodyBytes: bytes, bodyDigest: d, ttfbMs: 20, totalMs: totalMs)
        }
        XCTAssertEqual(evaluate(p, obs(), ref).verdict, .passed)
        XCTAssertEqual(evaluate(p, obs(), ref).throughputBps, 200_000 * 8000 / 80)
        XCTAssertEqual(evaluate(p, obs(digest: [UInt8](repeating: 8, count: 32)), ref).reason, .digestDiffers)
        XCTAssertEqual(evaluate(p, obs(bytes: 200_001), ref).reason, .sizeDiffers)
        XCTAssertEqual(evaluate(p, obs(bytes: 100), ref).reason, .shortBody)
        XCTAssertEqual(evaluate(p, obs(bytes: 100, error: .bodyTimeout), ref).reason.rawValue, "timeout_body")
        XCTAssertEqual(evaluate(p, obs(digest: nil), ref).reason, .unhashed)
        // 1.6 Mbit in 2 s = 0.8 Mbit/s, under the 1 Mbit/s floor.
        XCTAssertEqual(evaluate(p, obs(totalMs: 2020), ref).reason, .slow)
        XCTAssertEqual(evaluate(p, obs(totalMs: 2020), ref).verdict, .failed)
    }
}
