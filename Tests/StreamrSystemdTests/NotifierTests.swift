import Foundation
import XCTest

@testable import StreamrSystemd

/// Plays systemd's side of sd_notify: a datagram socket named by NOTIFY_SOCKET.
final class NotifierTests: XCTestCase {
    private let environment = EnvironmentOverride()
    private var directory = ""
    private var listener: DatagramListener!

    override func setUpWithError() throws {
        try super.setUpWithError()
        directory = try makeTemporaryDirectory()
        listener = try DatagramListener(path: directory + "/notify")
        environment.set("NOTIFY_SOCKET", listener.path)
        environment.set("WATCHDOG_USEC", nil)
        environment.set("WATCHDOG_PID", nil)
    }

    override func tearDown() {
        environment.restore()
        listener = nil
        rmdir(directory)
        super.tearDown()
    }

    func testLifecycleMessages() {
        XCTAssertTrue(SystemdNotifier.ready(status: "x"))
        XCTAssertEqual(listener.receive(timeout: 2), "READY=1\nSTATUS=x")

        XCTAssertTrue(SystemdNotifier.watchdog())
        XCTAssertEqual(listener.receive(timeout: 2), "WATCHDOG=1")

        XCTAssertTrue(SystemdNotifier.stopping())
        XCTAssertEqual(listener.receive(timeout: 2), "STOPPING=1")

        XCTAssertTrue(SystemdNotifier.ready())
        XCTAssertEqual(listener.receive(timeout: 2), "READY=1")
    }

    func testStatusAndReloading() throws {
        XCTAssertTrue(SystemdNotifier.status("serving 3 streams\nsecond line"))
        XCTAssertEqual(listener.receive(timeout: 2), "STATUS=serving 3 streams second line")

        XCTAssertTrue(SystemdNotifier.reloading())
        let reload = try XCTUnwrap(listener.receive(timeout: 2))
        let lines = reload.split(separator: "\n")
        XCTAssertEqual(lines.first, "RELOADING=1")
        XCTAssertEqual(lines.count, 2)
        XCTAssertTrue(lines.last?.hasPrefix("MONOTONIC_USEC=") == true)
        XCTAssertNotNil(UInt64(lines.last!.dropFirst("MONOTONIC_USEC=".count)))
    }

    func testEverythingIsANoOpWithoutNotifySocket() {
        environment.set("NOTIFY_SOCKET", nil)
        XCTAssertFalse(SystemdNotifier.ready(status: "x"))
        XCTAssertFalse(SystemdNotifier.status("x"))
        XCTAssertFalse(SystemdNotifier.watchdog())
        XCTAssertFalse(SystemdNotifier.stopping())
        XCTAssertFalse(SystemdNotifier.reloading())
        XCTAssertNil(listener.receive(timeout: 0.1))
    }

    func testWatchdogInterval() {
        XCTAssertNil(SystemdNotifier.watchdogInterval)

        environment.set("WATCHDOG_USEC", "2000000")
        environment.set("WATCHDOG_PID", String(getpid()))
        XCTAssertEqual(SystemdNotifier.watchdogInterval, .seconds(2))

        // Without WATCHDOG_PID the watchdog applies to whoever reads it.
        environment.set("WATCHDOG_PID", nil)
        XCTAssertEqual(SystemdNotifier.watchdogInterval, .seconds(2))

        // Meant for another process (e.g. inherited from our parent): not ours to answer.
        environment.set("WATCHDOG_PID", String(getpid() + 1))
        XCTAssertNil(SystemdNotifier.watchdogInterval)
    }

    func testWatchdogLoopPingsAtHalfTheInterval() async throws {
        environment.set("WATCHDOG_USEC", "1000000")
        environment.set("WATCHDOG_PID", String(getpid()))
        let loop = Task { await SystemdNotifier.watchdogLoop() }

        // Pings at 0, 0.5 and 1.0 s; pinging only once per interval would miss the deadline.
        var pings: [String] = []
        let deadline = ContinuousClock.now + .milliseconds(1600)
        while pings.count < 3, ContinuousClock.now < deadline {
            if let message = listener.receive(timeout: 0.1) {
                pings.append(message)
            }
        }
        loop.cancel()
        await loop.value

        XCTAssertGreaterThanOrEqual(pings.count, 3, "expected pings every 0.5 s for a 1 s watchdog")
        XCTAssertEqual(Set(pings), ["WATCHDOG=1"])
    }

    func testWatchdogLoopReturnsAtOnceWithoutNotifySocket() async {
        environment.set("WATCHDOG_USEC", "1000000")
        environment.set("NOTIFY_SOCKET", nil)
        let started = ContinuousClock.now
        let loop = Task { await SystemdNotifier.watchdogLoop() }
        let guardTask = Task {
            try? await Task.sleep(for: .seconds(1))
            loop.cancel()
        }
        await loop.value
        guardTask.cancel()
        XCTAssertLessThan(ContinuousClock.now - started, .milliseconds(500))
    }

    func testWatchdogLoopReturnsAtOnceWithoutWatchdog() async {
        let started = ContinuousClock.now
        let loop = Task { await SystemdNotifier.watchdogLoop() }
        // Bound the wait: if the loop wrongly runs, cancellation ends it after a second.
        let guardTask = Task {
            try? await Task.sleep(for: .seconds(1))
            loop.cancel()
        }
        await loop.value
        guardTask.cancel()

        XCTAssertLessThan(ContinuousClock.now - started, .milliseconds(500))
        XCTAssertNil(listener.receive(timeout: 0.1), "no WATCHDOG=1 without WatchdogSec=")
    }
}
