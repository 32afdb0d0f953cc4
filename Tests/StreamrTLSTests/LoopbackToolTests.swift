import Foundation
import NIOCore
import NIOPosix
import StreamrTLS
import XCTest

/// TLSHandler over real sockets on 127.0.0.1, against openssl s_client and s_server.
final class LoopbackToolTests: XCTestCase {
    private var pki: TestPKI!
    private var group: MultiThreadedEventLoopGroup!
    private var channels: [Channel] = []
    private var tools: [Tool] = []

    override func setUpWithError() throws {
        signal(SIGPIPE, SIG_IGN)
        pki = try TestPKI()
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    }

    override func tearDownWithError() throws {
        tools.forEach { $0.stop() }
        channels.forEach { $0.close(promise: nil) } // the group shutdown below closes whatever is left
        try group.syncShutdownGracefully()
        pki = nil
    }

    /// An echo server behind TLSHandler; returns its port and what its connections saw.
    private func startEchoServer(_ policy: ClientCertificatePolicy = .required) throws -> (Int, Observations) {
        let context = try TLSContext(.server(identity: pki.serverIdentity, trustRoots: [pki.ca.certificate], clientCertificates: policy))
        let seen = Observations()
        let server = try ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(TLSHandler(context: context))
                    try child.pipeline.syncOperations.addHandler(Recorder(seen, echo: true))
                }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
        channels.append(server)
        return (try XCTUnwrap(server.localAddress?.port), seen)
    }

    /// A client channel on `port`, with TLSHandler unless `configuration` is nil.
    private func connect(_ port: Int, _ configuration: TLSConfiguration?) throws -> (Channel, Observations) {
        let context = try configuration.map { try TLSContext($0) }
        let seen = Observations()
        let channel = try ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let context { try channel.pipeline.syncOperations.addHandler(TLSHandler(context: context)) }
                    try channel.pipeline.syncOperations.addHandler(Recorder(seen))
                }
            }
            .connect(host: "127.0.0.1", port: port).wait()
        channels.append(channel)
        return (channel, seen)
    }

    private func tool(_ arguments: [String]) throws -> Tool {
        let tool = try Tool(arguments, directory: pki.directory)
        tools.append(tool)
        return tool
    }

    private func sClient(_ port: Int, _ extra: [String]) throws -> Tool {
        try tool(["openssl", "s_client", "-connect", "127.0.0.1:\(port)", "-CAfile", "ca.pem"] + extra)
    }

    /// A port that was free a moment ago (for tools that must bind their own).
    private func freePort() throws -> Int {
        let probe = try ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).wait()
        defer { try? probe.close().wait() }
        return try XCTUnwrap(probe.localAddress?.port)
    }

    func testOpenSSLClientTLS12IsRefused() throws {
        let (port, seen) = try startEchoServer()
        let client = try sClient(port, ["-tls1_2", "-cert", "client.pem", "-key", "client.key"])
        let status = client.waitForExit()
        XCTAssertNotNil(status, "s_client did not finish: \(client.text)")
        XCTAssertNotEqual(status, 0, client.text)
        XCTAssertTrue(client.text.contains("alert protocol version"), client.text)
        XCTAssertFalse(client.text.contains("New, TLSv1.2"), client.text)
        XCTAssertTrue(waitUntil { seen.tlsErrors.map(\.kind) == [.handshakeFailed] }, "\(seen.errors)")
        XCTAssertTrue(seen.handshakes.isEmpty)
    }

    func testOpenSSLClientTLS13WithCertificateEchoes() throws {
        let (port, seen) = try startEchoServer()
        let client = try sClient(port, ["-tls1_3", "-cert", "client.pem", "-key", "client.key"])
        XCTAssertTrue(client.waitFor("New, TLSv1.3"), client.text)
        XCTAssertTrue(client.text.contains("Verify return code: 0 (ok)"), client.text)
        client.send("echo-me-4711\n")
        XCTAssertTrue(client.waitFor("echo-me-4711"), client.text)
        client.closeInput() // s_client sends close_notify and exits cleanly
        XCTAssertEqual(client.waitForExit(), 0, client.text)
        XCTAssertEqual(seen.handshakes.first?.peerCertificate?.commonName, TestPKI.nodeID)
        XCTAssertTrue(waitUntil { seen.inactiveCount == 1 })
        XCTAssertTrue(seen.errors.isEmpty, "\(seen.errors)")
    }

    func testOpenSSLClientWithoutCertificateIsRefused() throws {
        let (port, seen) = try startEchoServer(.required)
        let client = try sClient(port, ["-tls1_3"])
        // TLS 1.3: the client's side of the handshake completes, then the server's alert arrives.
        _ = client.waitFor("New, TLSv1.3", timeout: 5)
        client.send("should-not-echo\n")
        let status = client.waitForExit()
        XCTAssertNotNil(status, "s_client was not disconnected: \(client.text)")
        XCTAssertNotEqual(status, 0, client.text)
        XCTAssertTrue(client.text.contains("alert certificate required"), client.text)
        XCTAssertFalse(client.text.contains("should-not-echo"), client.text)
        XCTAssertTrue(seen.handshakes.isEmpty)
        XCTAssertEqual(seen.tlsErrors.map(\.kind), [.handshakeFailed])
        XCTAssertEqual(seen.received, "")
    }

    func testPinAgainstOpenSSLServer() throws {
        let port = try freePort()
        let server = try tool(["openssl", "s_server", "-tls1_3", "-accept", "127.0.0.1:\(port)", "-cert", "server.pem",
                               "-key", "server.key", "-cert_chain", "ca.pem"])
        XCTAssertTrue(server.waitFor("ACCEPT"), server.text)

        // Pinned to a different CA: the handshake fails on our side.
        let other = try CertificateAuthority.create(commonName: "Other CA")
        let (wrong, wrongSeen) = try connect(port, .client(pinnedCAKeySHA256: other.certificate.publicKeySHA256))
        XCTAssertTrue(waitUntil { !wrongSeen.errors.isEmpty }, "no error")
        XCTAssertEqual(wrongSeen.tlsErrors.map(\.kind), [.handshakeFailed])
        XCTAssertTrue(wrongSeen.handshakes.isEmpty)
        XCTAssertTrue(waitUntil { !wrong.isActive })

        // Pinned to the right CA (and no trust roots): it works and data reaches s_server.
        let (right, rightSeen) = try connect(port, .client(pinnedCAKeySHA256: pki.ca.certificate.publicKeySHA256))
        XCTAssertTrue(waitUntil { !rightSeen.handshakes.isEmpty }, "\(rightSeen.errors) \(server.text)")
        XCTAssertEqual(rightSeen.handshakes.first?.peerCertificate?.commonName, TestPKI.serverName)
        XCTAssertNoThrow(try XCTUnwrap(result(of: right.writeAndFlush(ByteBuffer(string: "pinned-hello-99\n")))).get())
        XCTAssertTrue(server.waitFor("pinned-hello-99"), server.text)
        server.send("from-s_server\n")
        XCTAssertTrue(waitUntil { rightSeen.received.contains("from-s_server") }, rightSeen.received)
        XCTAssertTrue(rightSeen.errors.isEmpty, "\(rightSeen.errors)")
    }

    func testGarbageConnectionIsClosedWhileGoodClientKeepsWorking() throws {
        let (port, seen) = try startEchoServer()
        let clientConfig = TLSConfiguration.client(identity: pki.clientIdentity, trustRoots: [pki.ca.certificate])
        let (good, goodSeen) = try connect(port, clientConfig)
        XCTAssertNoThrow(try XCTUnwrap(result(of: good.writeAndFlush(ByteBuffer(string: "one;")))).get())
        XCTAssertTrue(waitUntil { goodSeen.received == "one;" }, goodSeen.received)

        // A plain HTTP request and random bytes where a ClientHello should be.
        var random = ByteBuffer()
        random.writeBytes((0..<512).map { _ in UInt8.random(in: 0...255) })
        for garbage in [ByteBuffer(string: "GET / HTTP/1.0\r\n\r\n"), random] {
            let (raw, _) = try connect(port, nil)
            raw.writeAndFlush(garbage, promise: nil)
            XCTAssertTrue(waitUntil { !raw.isActive }, "the server kept a garbage connection open")
        }
        XCTAssertTrue(waitUntil { seen.tlsErrors.filter { $0.kind == .handshakeFailed }.count == 2 }, "\(seen.errors)")

        XCTAssertNoThrow(try XCTUnwrap(result(of: good.writeAndFlush(ByteBuffer(string: "two;")))).get())
        XCTAssertTrue(waitUntil { goodSeen.received == "one;two;" }, goodSeen.received)
        XCTAssertTrue(good.isActive)
        XCTAssertTrue(goodSeen.errors.isEmpty, "\(goodSeen.errors)")
        XCTAssertEqual(seen.handshakes.count, 1)
    }
}
