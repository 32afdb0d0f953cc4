import Foundation
import Logging
import StreamrHTTP
import XCTest

/// Stopping a server while connections are arriving: connections NIO accepted but had not yet
/// handed out used to be dropped unserved, which traps the process (swift-nio #2637: "Deinited
/// NIOAsyncWriter without calling finish()"; a node crashed so on SIGTERM with viewers
/// connecting). Accepted connections are now wrapped so that, dropped unserved, they close.
final class ServerStopTests: XCTestCase {
    func testCancellingTheServerWhileConnectionsArriveEndsCleanly() async throws {
        for _ in 0..<20 {
            let server = try await HTTPServer.bind(.tcp(host: "127.0.0.1", port: 0), logger: Logger(label: "test"))
            let port = server.localAddress!.port!
            let task = Task { try await server.run { _ in .text(.ok, "hi\n") } }
            let sockets = (0..<64).map { _ in Self.connectWithoutWaiting(port: port) }
            task.cancel()
            _ = try? await task.value
            for fd in sockets where fd >= 0 { close(fd) }
        }
    }

    /// A TCP connection to 127.0.0.1:port, started and not waited for.
    static func connectWithoutWaiting(port: Int) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { return fd }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return fd
    }
}
