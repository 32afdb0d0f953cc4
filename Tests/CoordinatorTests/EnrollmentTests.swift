import Coordinator
import CoordinatorCore
import Logging
import NIOCore
import StreamrRPC
import StreamrTLS
import StreamrWire
import XCTest

/// Enrolment over real TLS on loopback: a node with no certificate pins the CA by its key,
/// enrols with an invite, then connects with the certificate it was given.
final class EnrollmentTests: TempDatabaseTestCase {
    let ca = try! CertificateAuthority.create(commonName: "test CA")
    var gateway: NodeGateway!

    override func setUpWithError() throws {
        try super.setUpWithError()
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        gateway = try NodeGateway(store: store, authority: ca, endpoints: PublicEndpoints(host: "127.0.0.1"), logger: logger)
        try store.createStream(name: "main", keyHash: "k", pool: Amount(minor: 0, currency: try Currency.parse("USD")),
                               periodSeconds: 3600, now: CoordinatorStore.now())
        try store.createStream(name: "other", keyHash: "k2", pool: Amount(minor: 0, currency: try Currency.parse("USD")),
                               periodSeconds: 3600, now: CoordinatorStore.now())
    }

    /// An invite for `main` and its token.
    private func invite(uses: Int64 = 1, expiresIn: Int64 = 3600) throws -> (id: Int64, token: String) {
        let token = Secret.generate()
        let id = try store.createInvite(stream: "main", tokenHash: token.hash, uses: uses,
                                        expiresAt: CoordinatorStore.now() + expiresIn, now: CoordinatorStore.now())
        return (id, token.text)
    }

    private func request(token: String, key: PrivateKey? = nil, payout: String = "venmo:@ana-b", stream: String = "main") throws -> EnrollRequest {
        let csr = try CertificateSigningRequest(key: key ?? PrivateKey.generate(), commonName: "whatever the node asks")
        return EnrollRequest(token: token, csrDER: csr.derBytes(), displayName: "Ana", payoutHandle: payout, stream: stream)
    }

    /// Runs `body` against a TLS server on 127.0.0.1 serving the gateway (with a status echo behind it).
    private func withCoordinator<R: Sendable>(_ body: (ConnectAddress) async throws -> R) async throws -> R {
        let key = try PrivateKey.generate()
        let cert = try ca.issueServerCertificate(key: key, commonName: "localhost", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"])
        let tls = try TLSContext(.server(identity: TLSIdentity(chain: [cert, ca.certificate], key: key), trustRoots: [ca.certificate],
                                         clientCertificates: .optional))
        var logger = Logger(label: "test-server")
        logger.logLevel = .critical
        let server = try await RPCServer.bind(.tcp(host: "127.0.0.1", port: 0), pipeline: RPCPipeline(tls: tls), logger: logger)
        let handler = gateway.handler(next: { envelope, connection in
            guard case .statusRequest = envelope.body else { return nil }
            return .status(Status(software: "test", role: .coordinator, uptimeSeconds: 0,
                                  items: [StatusItem("cn", connection.peer.certificate?.commonName ?? "-")]))
        })
        return try await withThrowingTaskGroup(of: R?.self) { group in
            group.addTask { try await server.run(handler: handler); return nil }
            let result = try await body(.tcp(host: "127.0.0.1", port: server.localAddress!.port!))
            group.cancelAll()
            return result
        }
    }

    private func pinnedClient(identity: TLSIdentity? = nil) throws -> RPCPipeline {
        RPCPipeline(tls: try TLSContext(.client(identity: identity, pinnedCAKeySHA256: ca.certificate.publicKeySHA256)))
    }

    private func enrollOverTLS(_ request: EnrollRequest, at address: ConnectAddress) async throws -> EnrollResponse {
        let pipeline = try pinnedClient()
        return try await RPCClient.withConnection(to: address, pipeline: pipeline) { connection in
            guard case .enrollResponse(let response) = try await connection.request(.enrollRequest(request)) else {
                throw RPCError.unexpectedReply("not an enroll response")
            }
            return response
        }
    }

    private func statusCN(identity: TLSIdentity, at address: ConnectAddress) async throws -> String? {
        let pipeline = try pinnedClient(identity: identity)
        return try await RPCClient.withConnection(to: address, pipeline: pipeline) { connection in
            guard case .status(let status) = try await connection.request(.statusRequest) else { return nil }
            return status[item: "cn"]
        }
    }

    private func assertRefused(_ request: EnrollRequest, at address: ConnectAddress, code: ErrorCode, containing text: String,
                               file: StaticString = #filePath, line: UInt = #line) async {
        do {
            _ = try await enrollOverTLS(request, at: address)
            XCTFail("enrolment was accepted", file: file, line: line)
        } catch let error as ErrorMessage {
            XCTAssertEqual(error.code, code, "\(error)", file: file, line: line)
            XCTAssertTrue(error.message.contains(text), error.message, file: file, line: line)
        } catch {
            XCTFail("\(error)", file: file, line: line)
        }
    }

    func testEnrolThenConnectWithTheIssuedCertificate() async throws {
        let (inviteID, token) = try invite()
        let key = try PrivateKey.generate()
        let request = try request(token: token, key: key)
        try await withCoordinator { address in
            let response = try await self.enrollOverTLS(request, at: address)
            XCTAssertTrue(NodeID.isValid(response.nodeID), response.nodeID)
            let certificate = try Certificate(der: response.certificateDER)
            XCTAssertEqual(certificate.commonName, response.nodeID, "the subject is the node id, not what the CSR asked")
            XCTAssertTrue(certificate.isSigned(by: self.ca.certificate))
            XCTAssertEqual(try Certificate(der: response.caCertificateDER), self.ca.certificate)
            XCTAssertEqual(response.settings, NodeSettings(heartbeatIntervalMs: 5000, ingestAddress: "127.0.0.1:7444", streams: ["main"]))

            let node = try self.store.node(id: response.nodeID)
            XCTAssertEqual(node.displayName, "Ana")
            XCTAssertEqual(node.payoutHandle, "venmo:@ana-b")
            XCTAssertEqual(node.inviteID, inviteID)
            XCTAssertEqual(node.certificateSHA256, SHA256Digest.hex(SHA256Digest.hash(response.certificateDER)))
            XCTAssertEqual(try self.store.invite(id: inviteID).state.usesLeft, 0)

            let identity = TLSIdentity(chain: [certificate], key: key)
            let cn = try await self.statusCN(identity: identity, at: address)
            XCTAssertEqual(cn, response.nodeID)

            // Disabled: refused with the reason, and the connection is closed.
            try self.store.setEnabled(node: response.nodeID, false)
            do {
                _ = try await self.statusCN(identity: identity, at: address)
                XCTFail("a disabled node was served")
            } catch let error as ErrorMessage {
                XCTAssertEqual(error.code, .failedPrecondition)
                XCTAssertTrue(error.message.contains("disabled"), error.message)
            }
            try self.store.setEnabled(node: response.nodeID, true)
            let again = try await self.statusCN(identity: identity, at: address)
            XCTAssertEqual(again, response.nodeID)

            // A node that already has a certificate does not enrol again.
            let (_, second) = try self.invite()
            let enrolAgain = try self.request(token: second)
            do {
                _ = try await RPCClient.withConnection(to: address, pipeline: try self.pinnedClient(identity: identity)) { connection in
                    try await connection.request(.enrollRequest(enrolAgain))
                }
                XCTFail("re-enrolment with a certificate was accepted")
            } catch let error as ErrorMessage {
                XCTAssertEqual(error.code, .failedPrecondition)
            }
        }
    }

    func testRefusalsSayWhy() async throws {
        let (_, usedToken) = try invite()
        let (revokedID, revokedToken) = try invite()
        _ = try store.revokeInvite(id: revokedID, now: CoordinatorStore.now())
        let (_, expiredToken) = try invite(expiresIn: -1)
        let (_, goodToken) = try invite(uses: 5)
        let good = try request(token: goodToken)
        var badCSR = good
        badCSR.csrDER = Array(good.csrDER.dropLast(8))
        var tampered = good
        tampered.csrDER[tampered.csrDER.count - 5] ^= 0xff  // inside the signature
        let (truncated, forged) = (badCSR, tampered)

        try await withCoordinator { address in
            _ = try await self.enrollOverTLS(try self.request(token: usedToken), at: address)
            await self.assertRefused(try self.request(token: usedToken), at: address, code: .failedPrecondition, containing: "used up")
            await self.assertRefused(try self.request(token: revokedToken), at: address, code: .failedPrecondition, containing: "revoked")
            await self.assertRefused(try self.request(token: expiredToken), at: address, code: .failedPrecondition, containing: "expired")
            await self.assertRefused(try self.request(token: Secret.generate().text), at: address, code: .unauthenticated,
                                     containing: "unknown invite token")
            await self.assertRefused(try self.request(token: ""), at: address, code: .invalidArgument, containing: "missing invite token")
            await self.assertRefused(truncated, at: address, code: .invalidArgument, containing: "bad certificate request")
            await self.assertRefused(forged, at: address, code: .invalidArgument, containing: "bad certificate request")
            await self.assertRefused(try self.request(token: goodToken, payout: "cash:$ana"), at: address, code: .invalidArgument,
                                     containing: "venmo:@username or paypal:you@example.com")
            await self.assertRefused(try self.request(token: goodToken, stream: "other"), at: address, code: .failedPrecondition,
                                     containing: "another stream")
        }
        // None of the refusals took a use of the good invite.
        XCTAssertEqual(try store.invites().first { $0.state.maxUses == 5 }?.state.usesLeft, 5)
        XCTAssertEqual(try store.nodes(includingPending: true).count, 1)
    }

    private static func heartbeat(_ seq: UInt64, on connection: RPCConnection) async throws -> UInt64 {
        let hb = Heartbeat(seq: seq, sentUnixMs: UInt64(CoordinatorStore.nowMs()),
                           streams: [StreamCounters(stream: "main", viewers: 2, bytesServed: seq * 100, lastChunkSeq: seq)],
                           bufferHealthMs: 900)
        guard case .heartbeatAck(let ack) = try await connection.request(.heartbeat(hb)) else {
            throw RPCError.unexpectedReply("not a heartbeat ack")
        }
        return ack.seq
    }

    private static func assertReplayed(_ seq: UInt64, after last: UInt64, on connection: RPCConnection,
                                file: StaticString = #filePath, line: UInt = #line) async {
        do {
            _ = try await Self.heartbeat(seq, on: connection)
            XCTFail("heartbeat \(seq) accepted after \(last)", file: file, line: line)
        } catch let error as ErrorMessage {
            XCTAssertEqual(error, ErrorMessage(.replayed, "heartbeat \(seq) is not after \(last)"), file: file, line: line)
        } catch {
            XCTFail("\(error)", file: file, line: line)
        }
    }

    func testHeartbeatsOnTheNodeSessionRefuseReplaysAndSurviveReconnects() async throws {
        let (_, token) = try invite()
        let key = try PrivateKey.generate()
        let request = try request(token: token, key: key)
        try await withCoordinator { address in
            let response = try await self.enrollOverTLS(request, at: address)
            let identity = TLSIdentity(chain: [try Certificate(der: response.certificateDER)], key: key)
            let node = response.nodeID

            // Without a node certificate, heartbeats are refused.
            do {
                let anonymous = try self.pinnedClient()
                _ = try await RPCClient.withConnection(to: address, pipeline: anonymous) { connection in
                    try await Self.heartbeat(1, on: connection)
                }
                XCTFail("a heartbeat without a certificate was accepted")
            } catch let error as ErrorMessage {
                XCTAssertEqual(error.code, .unauthenticated)
            }

            let withCertificate = try self.pinnedClient(identity: identity)
            try await RPCClient.withConnection(to: address, pipeline: withCertificate) { connection in
                let first = try await Self.heartbeat(1, on: connection)
                let second = try await Self.heartbeat(2, on: connection)
                XCTAssertEqual([first, second], [1, 2])
                await Self.assertReplayed(2, after: 2, on: connection)
                await Self.assertReplayed(1, after: 2, on: connection)
                // Bad counters are refused before the seq is taken.
                let twice = StreamCounters(stream: "main", viewers: 1, bytesServed: 1, lastChunkSeq: 1)
                for bad in [[twice, twice], [StreamCounters(stream: "Bad Name", viewers: 1, bytesServed: 1, lastChunkSeq: 1)]] {
                    do {
                        _ = try await connection.request(.heartbeat(Heartbeat(seq: 3, sentUnixMs: 1, streams: bad)))
                        XCTFail("a heartbeat with bad counters was accepted")
                    } catch let error as ErrorMessage {
                        XCTAssertEqual(error.code, .invalidArgument, "\(error)")
                    }
                }
                // Refused, not disconnected: the next heartbeat is accepted on the same session.
                let third = try await Self.heartbeat(3, on: connection)
                XCTAssertEqual(third, 3)
            }
            // A new connection is a new session; the seq carries on per node.
            try await RPCClient.withConnection(to: address, pipeline: withCertificate) { connection in
                await Self.assertReplayed(3, after: 3, on: connection)
                let next = try await Self.heartbeat(7, on: connection)
                XCTAssertEqual(next, 7)
            }
            XCTAssertEqual(try self.store.heartbeatSeqs(node: node), [1, 2, 3, 7], "every acked heartbeat is stored")
            // The session ends when its connection closes (written with the next batch).
            var sessions: [SessionRecord] = []
            for _ in 0..<100 {
                sessions = try self.store.sessions(node: node)
                if sessions.allSatisfy({ $0.endedMs != nil }) { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            XCTAssertEqual(sessions.count, 2)
            XCTAssertEqual(sessions.map(\.firstSeq), [1, 7])
            XCTAssertEqual(sessions.map(\.lastSeq), [3, 7])
            XCTAssertEqual(sessions.map(\.heartbeats), [3, 1])
            XCTAssertTrue(sessions.allSatisfy { $0.endedMs != nil }, "\(sessions)")
            XCTAssertEqual(sessions.first?.viewers, 2)
            XCTAssertEqual(try self.store.uptimeIntervals(node: node).count, 1, "one uptime interval for main, heartbeats seconds apart")
        }
    }

    func testAStrangerCertificateFromTheCAIsRefusedUntilEnrolled() async throws {
        let key = try PrivateKey.generate()
        let forged = try ca.issueClientCertificate(for: try CertificateSigningRequest(key: key, commonName: "x"), nodeID: "node-00000000beef")
        try await withCoordinator { address in
            do {
                _ = try await self.statusCN(identity: TLSIdentity(chain: [forged], key: key), at: address)
                XCTFail("a node unknown to the store was served")
            } catch let error as ErrorMessage {
                XCTAssertEqual(error.code, .permissionDenied)
                XCTAssertTrue(error.message.contains("not enrolled"), error.message)
            }
        }
    }
}
