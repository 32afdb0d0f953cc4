import Foundation
import NIOConcurrencyHelpers
import NIOCore
import StreamrRPC
import StreamrTLS
import StreamrWire
import XCTest

final class TransportTests: XCTestCase {
    func testMutualTLSCarriesTheNodeIdentity() async throws {
        let pki = TestPKI()
        let pipeline = RPCPipeline(tls: try pki.serverContext())
        try await withServer(pipeline: pipeline, handler: identityEcho) { address in
            try await RPCClient.withConnection(to: address, pipeline: RPCPipeline(tls: try pki.clientContext(nodeID: "node-7"))) { c in
                let answer = try await c.request(.statusRequest)
                guard case .status(let status) = answer else { return XCTFail() }
                XCTAssertEqual(status[item: "cn"], "node-7")
                XCTAssertEqual(c.peer.certificate?.commonName, "localhost")
            }
            // Pinned by the CA key alone (first contact at enrolment), with no client certificate.
            let optional = RPCPipeline(tls: try pki.serverContext(clientCertificates: .optional))
            try await withServer(pipeline: optional, handler: identityEcho) { address in
                try await RPCClient.withConnection(to: address, pipeline: RPCPipeline(tls: try pki.clientContext(nodeID: nil, pin: true))) { c in
                    guard case .status(let status) = try await c.request(.statusRequest) else { return XCTFail() }
                    XCTAssertEqual(status[item: "cn"], "-")
                }
            }
        }
    }

    func testWrongPinFailsTheConnect() async throws {
        let pki = TestPKI(), other = TestPKI()
        try await withServer(pipeline: RPCPipeline(tls: try pki.serverContext(clientCertificates: .optional)), handler: identityEcho) { address in
            do {
                try await RPCClient.withConnection(to: address, pipeline: RPCPipeline(tls: try other.clientContext(nodeID: nil, pin: true))) { _ in }
                XCTFail("a server outside the pinned CA was accepted")
            } catch let error as TLSError {
                XCTAssertEqual(error.kind, .handshakeFailed)
            }
        }
    }

    func testUnixSocketReportsPeerCredentials() async throws {
        let path = NSTemporaryDirectory() + "streamr-rpc-\(getpid()).sock"
        defer { unlink(path) }
        try await withServer(.unix(path: path), handler: identityEcho) { address in
            try await RPCClient.withConnection(to: address, pipeline: RPCPipeline()) { c in
                guard case .status(let status) = try await c.request(.statusRequest) else { return XCTFail() }
                XCTAssertEqual(status[item: "uid"], "\(getuid())")
                XCTAssertEqual(status[item: "pid"], "\(getpid())")
            }
        }
        XCTAssertTrue(PeerCredentials(pid: 1, uid: 0, gid: 0).isAdmin(), "root is an admin")
        XCTAssertFalse(PeerCredentials(pid: 1, uid: 65534, gid: 65534).isAdmin(group: "no-such-group-here"), "nobody is not")
    }

    /// A reader that stops reading must make the writer wait, not buffer without bound;
    /// once it reads again, every frame arrives, in order.
    func testSlowReaderAppliesBackpressure() async throws {
        let frameBytes = 64 * 1024, total = 1600 // 100 MiB offered
        let sent = ManagedAtomicCounter()
        let handler: RPCConnection.Handler = { envelope, connection in
            guard case .subscribe = envelope.body else { return nil }
            for seq in 1...total {
                try await connection.push(.media(MediaData(stream: "s", chunkSeq: UInt64(seq), tags: [UInt8](repeating: 7, count: frameBytes))))
                sent.increment()
            }
            return .subscribeAck(SubscribeAck(stream: "s", firstChunk: 1, resumed: false))
        }
        let gate = Gate()
        let received = ManagedAtomicCounter()
        let order = NIOLockedValueBox(true)
        let clientHandler: RPCConnection.Handler = { envelope, _ in
            await gate.wait()
            if case .media(let m) = envelope.body {
                let n = received.increment()
                if m.chunkSeq != UInt64(n) { order.withLockedValue { $0 = false } }
            }
            return nil
        }
        try await withServer(handler: handler) { address in
            try await RPCClient.withConnection(to: address, pipeline: RPCPipeline(), handler: clientHandler) { connection in
                async let ack = connection.request(.subscribe(Subscribe(stream: "s")), timeout: .seconds(120))
                try await Task.sleep(for: .seconds(1))
                let inFlight = sent.value
                // Socket buffers plus the inbound watermark: a few MiB, far below the 100 MiB offered.
                XCTAssertLessThan(inFlight * frameBytes, 24 << 20, "sender buffered \(inFlight) frames for a stalled reader")
                try await Task.sleep(for: .milliseconds(500))
                XCTAssertEqual(sent.value, inFlight, "sender kept going while the reader was stalled")
                await gate.open()
                _ = try await ack
            }
        }
        XCTAssertEqual(received.value, total)
        XCTAssertTrue(order.withLockedValue { $0 })
    }
}

final class ManagedAtomicCounter: Sendable {
    private let box = NIOLockedValueBox(0)
    @discardableResult func increment() -> Int { box.withLockedValue { $0 += 1; return $0 } }
    var value: Int { box.withLockedValue { $0 } }
}

actor Gate {
    private var isOpen = false
    private var waiters: [CheckedContinuation<Void, Never>] = []
    func wait() async {
        if isOpen { return }
        await withCheckedContinuation { waiters.append($0) }
    }
    func open() {
        isOpen = true
        for waiter in waiters { waiter.resume() }
        waiters.removeAll()
    }
}

final class ClientToServerBackpressureTests: XCTestCase {
    /// The same guarantee in the other direction: a client pushing to a server whose
    /// handler is stalled must be held back, not buffered in memory.
    func testStalledServerHoldsBackAPushingClient() async throws {
        let frameBytes = 64 * 1024
        let gate = Gate()
        let received = ManagedAtomicCounter()
        let handler: RPCConnection.Handler = { envelope, _ in
            if case .media = envelope.body {
                await gate.wait()
                received.increment()
            }
            return nil
        }
        let sent = ManagedAtomicCounter()
        try await withServer(handler: handler) { address in
            try await RPCClient.withConnection(to: address, pipeline: RPCPipeline()) { connection in
                let pusher = Task {
                    for seq in 1...1600 {
                        try await connection.push(.media(MediaData(stream: "s", chunkSeq: UInt64(seq), tags: [UInt8](repeating: 1, count: frameBytes))))
                        sent.increment()
                    }
                }
                try await Task.sleep(for: .seconds(1))
                let inFlight = sent.value
                XCTAssertLessThan(inFlight * frameBytes, 24 << 20, "client sent \(inFlight) frames to a stalled server")
                await gate.open()
                try await pusher.value
                while received.value < 1600 { try await Task.sleep(for: .milliseconds(20)) }
            }
        }
    }
}
