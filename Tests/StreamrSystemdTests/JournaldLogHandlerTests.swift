import Foundation
import Logging
import XCTest

@testable import StreamrSystemd

/// Writes through the real sd_journal_sendv to a real journald and reads the entries back
/// with journalctl, the way an operator would.
final class JournaldLogHandlerTests: XCTestCase {
    /// The journald this class started (nil when one was already running), stopped at the end.
    nonisolated(unsafe) private static var journald: Process?

    override class func tearDown() {
        if let journald {
            kill(journald.processIdentifier, SIGTERM)
            journald.waitUntilExit()
            self.journald = nil
        }
        super.tearDown()
    }

    func testWritesStructuredFieldsToJournal() throws {
        try Self.ensureJournald()
        let identifier = "streamr-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let marker = "publish marker \(UUID().uuidString)"
        let logger = Logger(label: "streamr.ingest") { JournaldLogHandler(label: $0, identifier: identifier) }

        let line = #line + 1
        logger.warning("\(marker)", metadata: ["event": "publish_started", "stream": "demo"])

        let entry = try XCTUnwrap(Self.waitForEntries(identifier: identifier, count: 1).first)
        XCTAssertEqual(entry["MESSAGE"], marker)
        XCTAssertEqual(entry["PRIORITY"], "4")
        XCTAssertEqual(entry["SYSLOG_IDENTIFIER"], identifier)
        XCTAssertTrue(entry["CODE_FILE"]?.hasSuffix("JournaldLogHandlerTests.swift") == true, "\(entry)")
        XCTAssertEqual(entry["CODE_LINE"], String(line))
        XCTAssertEqual(entry["CODE_FUNC"], "testWritesStructuredFieldsToJournal()")
        XCTAssertEqual(entry["STREAMR_EVENT"], "publish_started")
        XCTAssertEqual(entry["STREAMR_STREAM"], "demo")
        XCTAssertEqual(entry["STREAMR_LOGGER"], "streamr.ingest")
        // Came in over the native protocol, not as stdout text parsed by journald.
        XCTAssertEqual(entry["_TRANSPORT"], "journal")
    }

    func testMultilineValuesAndSanitizedKeysSurvive() throws {
        try Self.ensureJournald()
        let identifier = "streamr-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        var logger = Logger(label: "streamr.node") { JournaldLogHandler(label: $0, identifier: identifier) }
        logger[metadataKey: "node"] = "friend-1"

        logger.error(
            "frame rejected\nconnection closed",
            metadata: ["remote-addr": "10.0.0.7:7443", "_private": "x", "detail": "line one\nline two"])
        logger.debug("below the handler's level: must not be written")

        let entries = try Self.waitForEntries(identifier: identifier, count: 1)
        XCTAssertEqual(entries.count, 1, "the debug record must have been filtered")
        let entry = try XCTUnwrap(entries.first)
        XCTAssertEqual(entry["MESSAGE"], "frame rejected\nconnection closed")
        XCTAssertEqual(entry["PRIORITY"], "3")
        XCTAssertEqual(entry["STREAMR_NODE"], "friend-1")
        XCTAssertEqual(entry["STREAMR_REMOTE_ADDR"], "10.0.0.7:7443")
        XCTAssertEqual(entry["STREAMR_PRIVATE"], "x")
        XCTAssertEqual(entry["STREAMR_DETAIL"], "line one\nline two")
    }

    func testRecordRefusedByJournalGoesToStderr() {
        let collector = LineCollector()
        let fallback = StderrLogHandler(label: "streamr.node", metadataProvider: nil, syslogPrefix: false) {
            collector.append($0)
        }
        var handler = JournaldLogHandler(label: "streamr.node", identifier: "x", fallback: fallback)
        handler.sender = { _ in -ECONNREFUSED }
        handler.metadata = ["node": "friend-1"]
        let configured = handler
        let logger = Logger(label: "streamr.node") { _ in configured }

        logger.warning("journal gone", metadata: ["event": "heartbeat_missed"])

        XCTAssertEqual(collector.lines, ["warning [streamr.node] journal gone event=heartbeat_missed node=friend-1\n"])
    }

    func testFieldNames() {
        XCTAssertEqual(JournaldLogHandler.fieldName(forMetadataKey: "event"), "STREAMR_EVENT")
        XCTAssertEqual(JournaldLogHandler.fieldName(forMetadataKey: "stream-id"), "STREAMR_STREAM_ID")
        XCTAssertEqual(JournaldLogHandler.fieldName(forMetadataKey: "__peer.addr"), "STREAMR_PEER_ADDR")
        XCTAssertEqual(JournaldLogHandler.fieldName(forMetadataKey: "Größe9"), "STREAMR_GR__E9")
        XCTAssertEqual(JournaldLogHandler.fieldName(forMetadataKey: "ключ"), "STREAMR_METADATA")
        XCTAssertEqual(JournaldLogHandler.fieldName(forMetadataKey: String(repeating: "k", count: 100)).utf8.count, 64)
    }

    func testFieldsFlattenValues() {
        let event = LogEvent(
            level: .info, message: "m", metadata: nil, source: "S",
            file: "Mod/File.swift", function: "f()", line: 12)
        let fields = JournaldLogHandler.fields(
            event: event, label: "l", identifier: "id",
            metadata: ["count": .stringConvertible(3), "peers": ["a", "b"], "limits": ["min": "1", "max": "5"]])
        XCTAssertEqual(fields, [
            "MESSAGE=m", "PRIORITY=6", "SYSLOG_IDENTIFIER=id", "CODE_FILE=Mod/File.swift", "CODE_LINE=12",
            "CODE_FUNC=f()", "STREAMR_LOGGER=l", "STREAMR_COUNT=3", "STREAMR_LIMITS=[max: 5, min: 1]",
            "STREAMR_PEERS=[a, b]",
        ])
    }

    // MARK: - journald and journalctl

    private struct JournaldUnavailable: Error, CustomStringConvertible {
        var description: String { "systemd-journald did not start listening on /run/systemd/journal/socket" }
    }

    /// Reuses a working journald, else starts a standalone one (systemd is not PID 1 here).
    private static func ensureJournald() throws {
        let socketPath = StreamrLogging.journalSocketPath
        if StreamrLogging.journalReachable(at: socketPath) { return }
        try FileManager.default.createDirectory(atPath: "/run/systemd/journal", withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/lib/systemd/systemd-journald")
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        journald = process
        let deadline = Date().addingTimeInterval(5)
        while !StreamrLogging.journalReachable(at: socketPath) {
            guard Date() < deadline, process.isRunning else {
                throw JournaldUnavailable()
            }
            usleep(50_000)
        }
    }

    /// Polls journalctl until `count` entries with this identifier are visible (up to ~5 s).
    private static func waitForEntries(identifier: String, count: Int) throws -> [[String: String]] {
        let deadline = Date().addingTimeInterval(5)
        var entries: [[String: String]] = []
        repeat {
            _ = try? run("/usr/bin/journalctl", ["--sync"])
            entries = try run("/usr/bin/journalctl", ["-o", "json", "--no-pager", "SYSLOG_IDENTIFIER=\(identifier)"])
                .split(separator: "\n")
                .compactMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
                .map { $0.compactMapValues(fieldString) }
            if entries.count >= count { break }
            usleep(100_000)
        } while Date() < deadline
        return entries
    }

    /// journalctl's JSON gives a string, or an array of byte values for data it deems unprintable.
    private static func fieldString(_ value: Any) -> String? {
        if let text = value as? String { return text }
        if let bytes = value as? [Int] { return String(decoding: bytes.map { UInt8($0) }, as: UTF8.self) }
        return nil
    }

    private static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
