@testable import Earnings
import XCTest

final class PeriodsTests: XCTestCase {
    let h: Int64 = 3_600_000
    let day: Int64 = 1_764_547_200_000  // 2025-12-01T00:00:00Z

    func testUTCFormatting() {
        XCTAssertEqual(UTCTime.format(0), "1970-01-01T00:00:00Z")
        XCTAssertEqual(UTCTime.format(day + 10 * h + 250), "2025-12-01T10:00:00.250Z")
        XCTAssertEqual(UTCTime.format(951_782_400_000), "2000-02-29T00:00:00Z")
        XCTAssertEqual(UTCTime.format(253_402_300_799_999), "9999-12-31T23:59:59.999Z")
        XCTAssertEqual(UTCTime.date(day), "2025-12-01")
    }

    /// Created at 10:17: the first period is 10:17–11:00 and carries 43/60 of the pool; the next
    /// ones are whole hours. Each closes a minute after it ends.
    func testPeriodsAreAlignedAndTheFirstIsPartial() throws {
        let created = day + 10 * h + 17 * 60_000
        let schedule = try PeriodSchedule(streamCreatedMs: created)
        XCTAssertEqual(schedule.due(nowMs: day + 11 * h + 59_999, closedThroughMs: nil), [])
        let due = schedule.due(nowMs: day + 13 * h + 60_000, closedThroughMs: nil)
        XCTAssertEqual(due.map(\.span), [TimeSpan(created, day + 11 * h), TimeSpan(day + 11 * h, day + 12 * h), TimeSpan(day + 12 * h, day + 13 * h)])
        XCTAssertEqual(due.map(\.isPartial), [true, false, false])
        XCTAssertEqual(due[0].poolMinor(ofFullPeriod: 100_000), 71_666)  // ⌊100000 × 43/60⌋
        XCTAssertEqual(due[1].poolMinor(ofFullPeriod: 100_000), 100_000)
        XCTAssertEqual(due[0].description, "2025-12-01T10:17:00Z–2025-12-01T11:00:00Z")

        // Closing picks up where it left off, in bounded steps.
        let later = schedule.due(nowMs: day + 30 * h, closedThroughMs: day + 12 * h, limit: 5)
        XCTAssertEqual(later.map(\.span.startMs), (12..<17).map { day + $0 * h })
        XCTAssertEqual(schedule.due(nowMs: day + 30 * h, closedThroughMs: day + 29 * h), [])
    }

    func testDailyPeriodsAndBadSchedules() throws {
        let schedule = try PeriodSchedule(lengthSeconds: 86_400, streamCreatedMs: day, closeDelayMs: 0)
        XCTAssertEqual(schedule.due(nowMs: day + 48 * h, closedThroughMs: nil).map(\.span),
                       [TimeSpan(day, day + 24 * h), TimeSpan(day + 24 * h, day + 48 * h)])
        XCTAssertThrowsError(try PeriodSchedule(lengthSeconds: 0, streamCreatedMs: day))
        XCTAssertThrowsError(try PeriodSchedule(lengthSeconds: 60, streamCreatedMs: day, closeDelayMs: 61_000))
    }

    func testLateDataIsClassified() throws {
        let schedule = try PeriodSchedule(streamCreatedMs: day)
        let closed = day + 2 * h, now = day + 2 * h + 30 * 60_000
        guard case .late(let p) = schedule.classify(atMs: day + h + 5, nowMs: now, closedThroughMs: closed) else { return XCTFail() }
        XCTAssertEqual(p.span, TimeSpan(day + h, day + 2 * h))
        guard case .open(let q) = schedule.classify(atMs: closed, nowMs: now, closedThroughMs: closed) else { return XCTFail() }
        XCTAssertEqual(q.span.startMs, closed)
        XCTAssertEqual(schedule.classify(atMs: day - 1, nowMs: now, closedThroughMs: closed), .beforeStream)
        XCTAssertEqual(schedule.classify(atMs: now + 60_001, nowMs: now, closedThroughMs: closed), .future)
        guard case .open = schedule.classify(atMs: day + 5, nowMs: now, closedThroughMs: nil) else { return XCTFail() }

        // Closed up to 12:30 after a change of length: the open period starts there.
        guard case .open(let r) = schedule.classify(atMs: closed + 45 * 60_000, nowMs: now + h, closedThroughMs: closed + 30 * 60_000) else { return XCTFail() }
        XCTAssertEqual(r.span, TimeSpan(closed + 30 * 60_000, closed + h))

        let split = schedule.split(TimeSpan(closed - 1000, closed + 500), closedThroughMs: closed)
        XCTAssertEqual(split.late, TimeSpan(closed - 1000, closed))
        XCTAssertEqual(split.open, TimeSpan(closed, closed + 500))
        XCTAssertEqual(schedule.split(TimeSpan(0, 10), closedThroughMs: nil).late, nil)
    }
}
