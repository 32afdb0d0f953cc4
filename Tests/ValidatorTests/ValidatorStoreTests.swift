import StreamrTLS
import StreamrWire
@testable import Validator
import XCTest

final class ValidatorStoreTests: XCTestCase {
    func testSealsSurviveAReopenAndDuplicatesAreStoredOnce() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("validator.db").path
        let s = try SealedStream(key: try PrivateKey.generate(), count: 3)
        do {
            let store = try ValidatorStore(path: path)
            for seal in s.seals { XCTAssertTrue(try store.save(seal, receivedMs: 100 + Int64(seal.seq))) }
            XCTAssertFalse(try store.save(s.seals[0], receivedMs: 500), "a replayed seal is not stored twice")
        }
        let reopened = try ValidatorStore(path: path)
        let recent = try reopened.recentSeals(sinceMs: 0, perStream: 2)
        XCTAssertEqual(recent.map(\.seal), Array(s.seals.suffix(2)), "the newest per stream, oldest first, digests as they came")
        XCTAssertEqual(recent.map(\.receivedMs), [102, 103])
        XCTAssertEqual(try reopened.sealCount(), 3)
        XCTAssertEqual(try reopened.pruneSeals(beforeMs: 102), 1)
    }

    func testReportsQueueInOrderWithRisingIdsUntilAcknowledged() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("validator.db").path
        let report = SpotCheckReport(nodeID: "node-0123456789ab", stream: "main", chunkSeq: 4, passed: false, reason: "bytes_differ",
                                     kind: "range", chainID: 7, bytes: 100, verdict: "altered")
        var ids: [UInt64] = []
        do {
            let store = try ValidatorStore(path: path)
            ids.append(try store.enqueue(report, nowMs: 5).reportID)
            ids.append(try store.enqueue(report, nowMs: 5).reportID)
            ids.append(try store.enqueue(report, nowMs: 4).reportID)  // the clock went back
        }
        XCTAssertEqual(ids[0], 5000, "at least now × 1000, so ids keep rising if the database is lost")
        XCTAssertEqual(ids, [5000, 5001, 5002])
        let store = try ValidatorStore(path: path)
        let pending = try store.pending()
        XCTAssertEqual(pending.map(\.reportID), ids, "a restart loses none, in order")
        XCTAssertEqual(pending.first?.reason, "bytes_differ")
        XCTAssertEqual(pending.first?.verdict, "altered")
        try store.acknowledge(ids[0])
        XCTAssertEqual(try store.pendingCount(), 2)
        try store.adopt(lastReportID: 9000)
        XCTAssertEqual(try store.enqueue(report, nowMs: 5).reportID, 9001, "above what the coordinator already holds")
        try store.adopt(lastReportID: 10)
        XCTAssertEqual(try store.enqueue(report, nowMs: 5).reportID, 9002, "never back")
    }
}
