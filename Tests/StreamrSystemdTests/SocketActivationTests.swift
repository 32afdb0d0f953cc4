import Foundation
import XCTest

@testable import StreamrSystemd

/// Runs the real sd_listen_fds_with_names against sockets placed where systemd puts them
/// (fd 3 onwards), in this process, with LISTEN_PID set to our pid.
final class SocketActivationTests: XCTestCase {
    private let environment = EnvironmentOverride()
    /// Whatever the test runner had at fds 3 and 4, parked at high numbers while we borrow them.
    private var parked: [(target: Int32, copy: Int32?, closeOnExec: Bool)] = []

    override func setUp() {
        super.setUp()
        for name in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] {
            environment.set(name, nil)
        }
    }

    override func tearDown() {
        restoreLowDescriptors()
        environment.restore()
        super.tearDown()
    }

    func testNamedSocketsArePassedInOrderAndEnvironmentIsCleared() throws {
        let ports = try installListeners(count: 2)
        environment.set("LISTEN_PID", String(getpid()))
        environment.set("LISTEN_FDS", "2")
        environment.set("LISTEN_FDNAMES", "rpc:http")

        let sockets = SocketActivation.inheritedSockets()

        XCTAssertEqual(sockets, [ListenedSocket(fd: 3, name: "rpc"), ListenedSocket(fd: 4, name: "http")])
        XCTAssertEqual(try localPort(of: sockets[0].fd), ports[0])
        XCTAssertEqual(try localPort(of: sockets[1].fd), ports[1])
        // systemd's contract: inherited fds must not leak into children we exec.
        XCTAssertEqual(fcntl(3, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC)
        for name in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] {
            XCTAssertNil(getenv(name), "\(name) should be unset")
        }
        // A second read finds nothing: the sockets are claimed once.
        XCTAssertEqual(SocketActivation.inheritedSockets(), [])
    }

    func testMissingNamesAreUnknownAndEnvironmentCanBeKept() throws {
        _ = try installListeners(count: 2)
        environment.set("LISTEN_PID", String(getpid()))
        environment.set("LISTEN_FDS", "2")

        let sockets = SocketActivation.inheritedSockets(unsetEnvironment: false)

        XCTAssertEqual(sockets.map(\.name), ["unknown", "unknown"])
        XCTAssertEqual(sockets.map(\.fd), [3, 4])
        XCTAssertEqual(getenv("LISTEN_FDS").map { String(cString: $0) }, "2")
    }

    func testSocketsMeantForAnotherProcessAreIgnored() {
        // No fds are touched here: sd_listen_fds rejects a foreign LISTEN_PID before looking.
        environment.set("LISTEN_PID", String(getpid() + 1))
        environment.set("LISTEN_FDS", "2")
        environment.set("LISTEN_FDNAMES", "rpc:http")
        XCTAssertEqual(SocketActivation.inheritedSockets(), [])
    }

    func testNoActivationMeansNoSockets() {
        XCTAssertEqual(SocketActivation.inheritedSockets(), [])
        XCTAssertTrue(InheritedSockets.fromEnvironment().isEmpty)
    }

    func testClaimingByName() throws {
        _ = try installListeners(count: 2)
        environment.set("LISTEN_PID", String(getpid()))
        environment.set("LISTEN_FDS", "2")
        environment.set("LISTEN_FDNAMES", "rpc:http")

        var sockets = InheritedSockets.fromEnvironment()
        XCTAssertEqual(sockets.take(named: "http"), ListenedSocket(fd: 4, name: "http"))
        XCTAssertNil(sockets.take(named: "http"))
        XCTAssertNil(sockets.take(named: "rtmp"))
        XCTAssertEqual(sockets.leftovers, [ListenedSocket(fd: 3, name: "rpc")])
    }

    func testTakeAllAndCloseLeftovers() throws {
        var pipeA: [Int32] = [0, 0]
        var pipeB: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&pipeA), 0)
        XCTAssertEqual(pipe(&pipeB), 0)
        defer { close(pipeA[1]); close(pipeB[1]) }
        var sockets = InheritedSockets([
            ListenedSocket(fd: 90, name: "rpc"),
            ListenedSocket(fd: pipeA[0], name: "extra"),
            ListenedSocket(fd: 91, name: "rpc"),
            ListenedSocket(fd: pipeB[0], name: "unknown"),
        ])

        XCTAssertEqual(sockets.takeAll(named: "rpc").map(\.fd), [90, 91])
        let closed = sockets.closeLeftovers()

        XCTAssertEqual(closed.map(\.name), ["extra", "unknown"])
        XCTAssertTrue(sockets.isEmpty)
        XCTAssertEqual(fcntl(pipeA[0], F_GETFD), -1, "leftover should be closed")
        XCTAssertEqual(fcntl(pipeB[0], F_GETFD), -1, "leftover should be closed")
    }

    // MARK: - fd juggling

    /// Puts `count` fresh TCP listeners at fds 3, 4, ... and returns their ports.
    private func installListeners(count: Int) throws -> [UInt16] {
        for target in 3..<Int32(3 + count) {
            let flags = fcntl(target, F_GETFD)
            let copy = flags >= 0 ? fcntl(target, F_DUPFD_CLOEXEC, 200) : nil
            parked.append((target, copy, flags >= 0 && flags & FD_CLOEXEC != 0))
        }
        var ports: [UInt16] = []
        var high: [Int32] = []
        for _ in 0..<count {
            let listener = try makeTCPListener()
            // Move it out of the way first: the kernel may have handed us 3 or 4 itself.
            high.append(fcntl(listener.fd, F_DUPFD_CLOEXEC, 200))
            close(listener.fd)
            ports.append(listener.port)
        }
        for (offset, fd) in high.enumerated() {
            XCTAssertEqual(dup2(fd, 3 + Int32(offset)), 3 + Int32(offset))
            close(fd)
        }
        return ports
    }

    private func restoreLowDescriptors() {
        for (target, copy, closeOnExec) in parked {
            if let copy {
                dup2(copy, target)
                if closeOnExec { _ = fcntl(target, F_SETFD, FD_CLOEXEC) }
                close(copy)
            } else {
                close(target)
            }
        }
        parked.removeAll()
    }
}
