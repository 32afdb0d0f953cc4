import Foundation
import Logging
import XCTest

@testable import StreamrSystemd

final class StderrLogHandlerTests: XCTestCase {
    private let environment = EnvironmentOverride()

    override func tearDown() {
        environment.restore()
        super.tearDown()
    }

    private func makeLogger(_ collector: LineCollector, syslogPrefix: Bool = false) -> Logger {
        Logger(label: "streamr.test") { label in
            StderrLogHandler(label: label, metadataProvider: nil, syslogPrefix: syslogPrefix) {
                collector.append($0)
            }
        }
    }

    func testOneLinePerRecordWithSortedMetadata() {
        let collector = LineCollector()
        var logger = makeLogger(collector)
        logger[metadataKey: "stream"] = "demo"

        logger.warning("publish started", metadata: ["event": "publish_started", "peer": "10.0.0.2:5000"])

        XCTAssertEqual(
            collector.lines,
            ["warning [streamr.test] publish started event=publish_started peer=10.0.0.2:5000 stream=demo\n"])
    }

    func testLevelFilteringAndRecordMetadataWins() {
        let collector = LineCollector()
        var logger = makeLogger(collector)
        logger[metadataKey: "stream"] = "old"

        logger.debug("hidden at the default info level")
        logger.info("shown", metadata: ["stream": "new"])

        XCTAssertEqual(collector.lines, ["info [streamr.test] shown stream=new\n"])
    }

    func testNewlinesAndSpacesStayOnOneLine() {
        let collector = LineCollector()
        let logger = makeLogger(collector)

        logger.error("first\nsecond", metadata: ["reason": "bad \"frame\"\nclosed", "empty": ""])

        XCTAssertEqual(
            collector.lines,
            [#"error [streamr.test] first\nsecond empty="" reason="bad \"frame\"\nclosed""# + "\n"])
    }

    func testSyslogPrefixForJournalStream() {
        let collector = LineCollector()
        let logger = makeLogger(collector, syslogPrefix: true)

        logger.critical("down")
        logger.notice("up")

        XCTAssertEqual(collector.lines, ["<2>critical [streamr.test] down\n", "<5>notice [streamr.test] up\n"])
    }

    func testPriorities() {
        let expected: [Logger.Level: Int] = [
            .trace: 7, .debug: 7, .info: 6, .notice: 5, .warning: 4, .error: 3, .critical: 2,
        ]
        for (level, priority) in expected {
            XCTAssertEqual(level.syslogPriority, priority, "\(level)")
        }
    }

    // MARK: - choosing a destination

    func testNoJournalSocketMeansStderr() {
        XCTAssertEqual(StreamrLogging.destination(override: nil, socketPath: "/nonexistent/journal/socket"), .stderr)
    }

    func testStaleSocketFileMeansStderr() throws {
        let directory = try makeTemporaryDirectory()
        defer { rmdir(directory) }
        let path = directory + "/socket"
        let listener = try DatagramListener(path: path)
        // A journald that died leaves its socket file behind: present but refusing connections.
        listener.closeKeepingFile()
        XCTAssertTrue(FileManager.default.fileExists(atPath: path))
        XCTAssertFalse(StreamrLogging.journalReachable(at: path))
        XCTAssertEqual(StreamrLogging.destination(override: nil, socketPath: path), .stderr)
    }

    func testListeningSocketMeansJournalUnlessForced() throws {
        let directory = try makeTemporaryDirectory()
        defer { rmdir(directory) }
        let listener = try DatagramListener(path: directory + "/socket")

        XCTAssertEqual(StreamrLogging.destination(override: nil, socketPath: listener.path), .journal)
        XCTAssertEqual(StreamrLogging.destination(override: "stderr", socketPath: listener.path), .stderr)
        XCTAssertEqual(StreamrLogging.destination(override: "journal", socketPath: "/nonexistent"), .journal)
        // An unknown value is ignored rather than silencing the daemon.
        XCTAssertEqual(StreamrLogging.destination(override: "syslog", socketPath: listener.path), .journal)
    }

    func testMakeHandlerHonoursEnvironment() {
        environment.set("STREAMR_LOG", "stderr")
        XCTAssertTrue(StreamrLogging.makeHandler(label: "a", identifier: "b") is StderrLogHandler)
        environment.set("STREAMR_LOG", "journal")
        let handler = StreamrLogging.makeHandler(label: "a", identifier: "b")
        XCTAssertEqual((handler as? JournaldLogHandler)?.identifier, "b")
    }
}
