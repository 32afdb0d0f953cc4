import NIOCore
import NIOEmbedded
import StreamrTLS
import XCTest

/// Handshakes between two EmbeddedChannels, shuttling each one's outbound bytes into the other.
final class InMemoryHandshakeTests: XCTestCase {
    private var pki: TestPKI!

    override func setUpWithError() throws { pki = try TestPKI() }
    override func tearDown() { pki = nil }

    /// One side: a channel with TLSHandler + Recorder.
    private struct Side {
        let channel: EmbeddedChannel
        let seen = Observations()

        init(_ configuration: TLSConfiguration) throws {
            channel = EmbeddedChannel()
            try channel.pipeline.syncOperations.addHandler(TLSHandler(context: TLSContext(configuration)))
            try channel.pipeline.syncOperations.addHandler(Recorder(seen))
        }

        func connect() throws { try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait() }
        func write(_ text: String) -> EventLoopFuture<Void> { channel.writeAndFlush(ByteBuffer(string: text)) }
    }

    private func serverConfig(_ policy: ClientCertificatePolicy = .required) -> TLSConfiguration {
        .server(identity: pki.serverIdentity, trustRoots: [pki.ca.certificate], clientCertificates: policy)
    }

    private var clientConfig: TLSConfiguration { .client(identity: pki.clientIdentity, trustRoots: [pki.ca.certificate]) }

    /// Connects both sides and moves bytes until neither has anything more to send.
    private func run(_ client: Side, _ server: Side, before: () throws -> Void = {}) throws {
        try server.connect()
        try before()
        try client.connect()
        try shuttle(client, server)
    }

    private func shuttle(_ a: Side, _ b: Side) throws {
        for _ in 0..<50 {
            let moved = try pass(from: a, to: b) + pass(from: b, to: a)
            if moved == 0 { return }
        }
        XCTFail("the peers never went quiet")
    }

    private func pass(from: Side, to: Side) throws -> Int {
        var count = 0
        while let buffer = try from.channel.readOutbound(as: ByteBuffer.self) {
            count += 1
            if to.channel.isActive { try to.channel.writeInbound(buffer) }
        }
        return count
    }

    func testMutualTLSHandshake() throws {
        let client = try Side(clientConfig), server = try Side(serverConfig())
        try run(client, server)
        XCTAssertEqual(client.seen.handshakes.count, 1)
        XCTAssertEqual(server.seen.handshakes.count, 1)
        XCTAssertEqual(server.seen.handshakes.first?.peerCertificate?.commonName, TestPKI.nodeID)
        XCTAssertEqual(server.seen.handshakes.first?.peerCertificate, pki.clientCertificate)
        XCTAssertEqual(client.seen.handshakes.first?.peerCertificate?.commonName, TestPKI.serverName)
        XCTAssertEqual(client.seen.handshakes.first?.version, "TLSv1.3")
        XCTAssertTrue(client.seen.errors.isEmpty && server.seen.errors.isEmpty, "\(client.seen.errors) \(server.seen.errors)")

        // Application data flows both ways and arrives as plaintext.
        XCTAssertNoThrow(try XCTUnwrap(result(of: client.write("ping"), timeout: 0)).get())
        XCTAssertNoThrow(try XCTUnwrap(result(of: server.write("pong"), timeout: 0)).get())
        try shuttle(client, server)
        XCTAssertEqual(server.seen.received, "ping")
        XCTAssertEqual(client.seen.received, "pong")
    }

    func testWritesBeforeHandshakeAreDeliveredAfterIt() throws {
        let client = try Side(clientConfig), server = try Side(serverConfig())
        let early = client.write("written before the handshake")
        try server.connect()
        try client.connect()
        // The ClientHello is out, the handshake is not done: nothing is delivered yet.
        XCTAssertTrue(client.seen.handshakes.isEmpty)
        XCTAssertNotNil(try client.channel.readOutbound(as: ByteBuffer.self).map { try server.channel.writeInbound($0) })
        let serverEarly = server.write("server too")
        XCTAssertEqual(server.seen.received, "")
        try shuttle(client, server)
        XCTAssertNoThrow(try XCTUnwrap(result(of: early, timeout: 0), "early write still pending").get())
        XCTAssertNoThrow(try XCTUnwrap(result(of: serverEarly, timeout: 0), "early write still pending").get())
        XCTAssertEqual(server.seen.received, "written before the handshake")
        XCTAssertEqual(client.seen.received, "server too")
    }

    func testPinnedClientWithoutTrustRoots() throws {
        let client = try Side(.client(identity: pki.clientIdentity, pinnedCAKeySHA256: pki.ca.certificate.publicKeySHA256))
        let server = try Side(serverConfig())
        try run(client, server)
        XCTAssertEqual(client.seen.handshakes.count, 1, "\(client.seen.errors)")
        XCTAssertEqual(server.seen.handshakes.count, 1, "\(server.seen.errors)")
    }

    func testClientPinnedToWrongKeyFails() throws {
        let other = try CertificateAuthority.create(commonName: "Other CA")
        let client = try Side(.client(identity: pki.clientIdentity, pinnedCAKeySHA256: other.certificate.publicKeySHA256))
        let server = try Side(serverConfig())
        try run(client, server)
        XCTAssertTrue(client.seen.handshakes.isEmpty)
        XCTAssertTrue(server.seen.handshakes.isEmpty)
        XCTAssertEqual(client.seen.tlsErrors.map(\.kind), [.handshakeFailed])
        XCTAssertFalse(client.channel.isActive)
    }

    func testPinnedClientNeedsTheCAInTheServerChain() throws {
        let client = try Side(.client(pinnedCAKeySHA256: pki.ca.certificate.publicKeySHA256))
        let server = try Side(.server(identity: TLSIdentity(chain: [pki.serverCertificate], key: pki.serverKey),
                                      clientCertificates: .none))
        try run(client, server)
        XCTAssertTrue(client.seen.handshakes.isEmpty)
        XCTAssertEqual(client.seen.tlsErrors.map(\.kind), [.handshakeFailed])
    }

    /// Node certificates serve too (a node relays to child nodes), so a node's certificate must
    /// not pass where the host is expected — with trust roots or with a pin — while a client that
    /// expects that very node takes it.
    func testANodeCertificateIsNotTakenForTheHost() throws {
        let node = TLSIdentity(chain: [pki.clientCertificate, pki.ca.certificate], key: pki.clientKey)
        for config in [TLSConfiguration.client(trustRoots: [pki.ca.certificate], expectedPeer: .host),
                       .client(pinnedCAKeySHA256: pki.ca.certificate.publicKeySHA256, expectedPeer: .host)] {
            let client = try Side(config)
            let server = try Side(.server(identity: node, clientCertificates: .none))
            try run(client, server)
            XCTAssertTrue(client.seen.handshakes.isEmpty, "pinned: \(config.pinnedCAKeySHA256 != nil)")
            XCTAssertEqual(client.seen.tlsErrors.map(\.kind), [.handshakeFailed])
        }
        let child = try Side(.client(trustRoots: [pki.ca.certificate], expectedPeer: .node(TestPKI.nodeID)))
        let parent = try Side(.server(identity: node, clientCertificates: .none))
        try run(child, parent)
        XCTAssertEqual(child.seen.handshakes.count, 1, "\(child.seen.errors)")
        let host = try Side(.client(trustRoots: [pki.ca.certificate], expectedPeer: .host))
        let server = try Side(serverConfig())
        try run(host, server)
        XCTAssertEqual(host.seen.handshakes.count, 1, "the host's own server certificate is taken: \(host.seen.errors)")
    }

    func testServerFromAnotherCAIsRefused() throws {
        let other = try CertificateAuthority.create(commonName: "Other CA")
        let client = try Side(.client(identity: pki.clientIdentity, trustRoots: [other.certificate]))
        let server = try Side(serverConfig())
        try run(client, server)
        XCTAssertTrue(client.seen.handshakes.isEmpty)
        XCTAssertEqual(client.seen.tlsErrors.map(\.kind), [.handshakeFailed])
        XCTAssertTrue(client.seen.tlsErrors.first?.message.contains("certificate") ?? false, "\(client.seen.tlsErrors)")
    }

    func testRequiredPolicyRefusesClientWithoutCertificate() throws {
        let client = try Side(.client(trustRoots: [pki.ca.certificate]))
        let server = try Side(serverConfig(.required))
        try run(client, server)
        XCTAssertTrue(server.seen.handshakes.isEmpty)
        XCTAssertEqual(server.seen.tlsErrors.map(\.kind), [.handshakeFailed])
        XCTAssertFalse(server.channel.isActive)
        // TLS 1.3: the client finished first, then gets the server's alert and closes.
        XCTAssertEqual(client.seen.tlsErrors.count, 1, "\(client.seen.errors)")
        XCTAssertTrue(client.seen.tlsErrors.first?.message.contains("certificate required") ?? false, "\(client.seen.errors)")
        XCTAssertFalse(client.channel.isActive)
    }

    func testOptionalPolicyAllowsClientWithoutCertificate() throws {
        let client = try Side(.client(trustRoots: [pki.ca.certificate]))
        let server = try Side(serverConfig(.optional))
        try run(client, server)
        XCTAssertEqual(server.seen.handshakes.count, 1, "\(server.seen.errors)")
        XCTAssertNil(server.seen.handshakes.first?.peerCertificate)
        XCTAssertTrue(server.channel.isActive && client.channel.isActive)
    }

    func testClientCertificateFromAnotherCAIsRefused() throws {
        let other = try CertificateAuthority.create(commonName: "Other CA")
        let key = try PrivateKey.generate()
        let foreign = try other.issueClientCertificate(for: CertificateSigningRequest(key: key, commonName: "x"), nodeID: TestPKI.nodeID)
        for policy in [ClientCertificatePolicy.required, .optional] {
            let client = try Side(.client(identity: TLSIdentity(chain: [foreign], key: key), trustRoots: [pki.ca.certificate]))
            let server = try Side(serverConfig(policy))
            try run(client, server)
            XCTAssertTrue(server.seen.handshakes.isEmpty, "\(policy)")
            XCTAssertEqual(server.seen.tlsErrors.map(\.kind), [.handshakeFailed])
            XCTAssertFalse(server.channel.isActive)
            XCTAssertFalse(client.channel.isActive)
        }
    }

    func testCloseSendsCloseNotifyAndPeerSeesCleanClose() throws {
        let client = try Side(clientConfig), server = try Side(serverConfig())
        try run(client, server)
        XCTAssertNoThrow(try XCTUnwrap(result(of: client.channel.close(), timeout: 0)).get())
        try shuttle(client, server)
        XCTAssertFalse(server.channel.isActive, "close_notify should make the server close too")
        XCTAssertEqual(server.seen.inactiveCount, 1)
        XCTAssertTrue(server.seen.errors.isEmpty, "\(server.seen.errors)")
        XCTAssertTrue(client.seen.errors.isEmpty, "\(client.seen.errors)")
        XCTAssertThrowsError(try XCTUnwrap(result(of: client.write("late"), timeout: 0)).get())
    }

    func testEOFWithoutCloseNotifyIsReportedUnclean() throws {
        let client = try Side(clientConfig), server = try Side(serverConfig())
        try run(client, server)
        // The socket going away without a close_notify (a truncation attack looks the same).
        client.channel.pipeline.fireChannelInactive()
        XCTAssertEqual(client.seen.tlsErrors.map(\.kind), [.uncleanShutdown])
    }

    func testGarbageInsteadOfClientHelloFailsTheHandshake() throws {
        let server = try Side(serverConfig())
        try server.connect()
        try server.channel.writeInbound(ByteBuffer(string: "GET / HTTP/1.0\r\n\r\n"))
        XCTAssertEqual(server.seen.tlsErrors.map(\.kind), [.handshakeFailed])
        XCTAssertFalse(server.channel.isActive)
    }

    func testContextConfigurationErrors() throws {
        XCTAssertThrowsError(try TLSContext(.client())) { XCTAssertEqual(($0 as? TLSError)?.kind, .configuration) }
        XCTAssertThrowsError(try TLSContext(.server(identity: pki.serverIdentity, clientCertificates: .required)))
        XCTAssertThrowsError(try TLSContext(.server(identity: TLSIdentity(chain: [], key: pki.serverKey))))
        XCTAssertNoThrow(try TLSContext(.server(identity: pki.serverIdentity, clientCertificates: .none)))
    }
}
