import Foundation
import XCTest

/// Sets environment variables for one test and puts back exactly what was there before.
final class EnvironmentOverride {
    private var saved: [String: String?] = [:]

    func set(_ name: String, _ value: String?) {
        if saved[name] == nil {
            saved[name] = .some(getenv(name).map { String(cString: $0) })
        }
        if let value {
            setenv(name, value, 1)
        } else {
            unsetenv(name)
        }
    }

    func restore() {
        for (name, value) in saved {
            if let value {
                setenv(name, value, 1)
            } else {
                unsetenv(name)
            }
        }
        saved.removeAll()
    }

    deinit { restore() }
}

/// Collects lines written by a handler under test; the handler may call from any thread.
final class LineCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [String] = []

    var lines: [String] { lock.withLock { storage } }

    func append(_ line: String) {
        lock.withLock { storage.append(line) }
    }
}

/// A fresh directory under /tmp (short: unix socket paths are limited to 108 bytes).
func makeTemporaryDirectory() throws -> String {
    var template = Array("/tmp/streamr-systemd-XXXXXX".utf8CString)
    guard let path = mkdtemp(&template) else {
        throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
    }
    return String(cString: path)
}

/// A bound AF_UNIX datagram socket, like journald's or systemd's notify socket.
final class DatagramListener {
    let path: String
    private(set) var fd: Int32

    init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: Array(path.utf8) + [0])
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            close(fd)
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
    }

    /// The next datagram, or nil when none arrives within `timeout` seconds.
    func receive(timeout: Double) -> String? {
        var pollFD = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pollFD, 1, Int32(timeout * 1000)) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(fd, &buffer, buffer.count, 0)
        guard count >= 0 else { return nil }
        return String(decoding: buffer[0..<count], as: UTF8.self)
    }

    /// Every datagram already queued.
    func drain() -> [String] {
        var messages: [String] = []
        while let message = receive(timeout: 0) {
            messages.append(message)
        }
        return messages
    }

    /// Closes the socket but leaves its file, like a journald that died.
    func closeKeepingFile() {
        if fd >= 0 { close(fd) }
        fd = -1
    }

    deinit {
        closeKeepingFile()
        unlink(path)
    }
}

/// A TCP listener on 127.0.0.1 with a kernel-chosen port.
func makeTCPListener() throws -> (fd: Int32, port: UInt16) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.EIO) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard bound == 0, listen(fd, 8) == 0 else {
        close(fd)
        throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
    }
    return (fd, try localPort(of: fd))
}

func localPort(of fd: Int32) throws -> UInt16 {
    var address = sockaddr_in()
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let result = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard result == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EBADF) }
    return UInt16(bigEndian: address.sin_port)
}
