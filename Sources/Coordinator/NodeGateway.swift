import CoordinatorCore
import Logging
import StreamrRPC
import StreamrTLS
import StreamrWire

/// The node-facing side of 7443: enrolment for nodes without a certificate, and the check
/// that every node certificate still belongs to an enrolled, enabled node.
public struct NodeGateway: Sendable {
    let store: CoordinatorStore
    let authority: CertificateAuthority
    let endpoints: PublicEndpoints
    let heartbeatIntervalMs: UInt32
    let clock: @Sendable () -> Int64
    public let sessions: NodeSessions
    let logger: Logger

    public init(store: CoordinatorStore, authority: CertificateAuthority, endpoints: PublicEndpoints,
                heartbeatIntervalMs: UInt32 = 5000, clock: @escaping @Sendable () -> Int64 = CoordinatorStore.now,
                sessions: NodeSessions? = nil, logger: Logger) throws {
        self.store = store; self.authority = authority; self.endpoints = endpoints
        self.heartbeatIntervalMs = heartbeatIntervalMs; self.clock = clock; self.logger = logger
        self.sessions = try sessions ?? NodeSessions(store: store)
    }

    /// Wraps `next` (hello, status): enrolment requests and heartbeats are answered here,
    /// and a peer presenting a node certificate is refused — and disconnected — unless that
    /// node is enrolled and enabled and the certificate is the one issued to it. Checked once
    /// per connection (on its first request); `node disable` closes the node's connections,
    /// so from then on every new connection is checked and refused. CAs cannot un-sign, so
    /// this lookup is the revocation list.
    public func handler(next: @escaping RPCConnection.Handler) -> RPCConnection.Handler {
        { envelope, connection in
            var node = self.sessions.admittedNode(connection)
            if node == nil, let certificate = connection.peer.certificate,
               let nodeID = certificate.commonName, NodeID.isValid(nodeID) {
                try self.admit(nodeID: nodeID, certificate: certificate)
                self.sessions.admit(connection, node: nodeID)
                node = nodeID
            }
            switch envelope.body {
            case .enrollRequest(let request):
                return .enrollResponse(try self.enroll(request, peer: connection.peer))
            case .heartbeat(let heartbeat):
                // A replayed or out-of-order heartbeat is refused (.replayed) and nothing of it is
                // stored, but the session stays up: the node's next, newer heartbeat is accepted.
                guard let node else {
                    throw ErrorMessage(.unauthenticated, "heartbeats are accepted only from an enrolled node's certificate")
                }
                return .heartbeatAck(try await self.sessions.heartbeat(heartbeat, node: node, connection: connection))
            default:
                return try await next(envelope, connection)
            }
        }
    }

    func admit(nodeID: String, certificate: Certificate) throws {
        let node: NodeRecord
        do { node = try store.node(id: nodeID) } catch CoordinatorStoreError.unknownNode {
            throw CloseConnection(ErrorMessage(.permissionDenied, "node \(nodeID) is not enrolled here; join again with a new invite"))
        }
        guard node.enabled else {
            // FAILED_PRECONDITION, as proto/streamr.proto documents for a disabled node.
            throw CloseConnection(ErrorMessage(.failedPrecondition, "node \(nodeID) has been disabled by the host"))
        }
        guard SHA256Digest.hex(SHA256Digest.hash(certificate.derBytes())) == node.certificateSHA256 else {
            logger.warning("node \(nodeID) presented a certificate that was not issued to it", metadata: [
                "event": "certificate_mismatch", "node": "\(nodeID)"])
            throw CloseConnection(ErrorMessage(.permissionDenied, "this certificate was not issued to node \(nodeID)"))
        }
    }

    /// Checks the request, takes one use of the invite and issues the node's certificate,
    /// all or nothing. Refusals say why (expired, revoked, used up, unknown, bad CSR, ...).
    public func enroll(_ request: EnrollRequest, peer: PeerInfo) throws -> EnrollResponse {
        do {
            let response = try enrollChecked(request, peer: peer)
            logger.notice("node \(response.nodeID) enrolled from \(peer.description)", metadata: [
                "event": "node_enrolled", "node": "\(response.nodeID)", "stream": "\(response.settings?.streams.first ?? "")"])
            return response
        } catch {
            let message = Self.errorMessage(for: error)
            logger.warning("enrolment from \(peer.description) refused: \(message.message)", metadata: [
                "event": "enrollment_refused", "reason": "\(message.code)"])
            throw message
        }
    }

    private func enrollChecked(_ request: EnrollRequest, peer: PeerInfo) throws -> EnrollResponse {
        if let existing = peer.certificate?.commonName {
            throw ErrorMessage(.failedPrecondition, "already enrolled as \(existing); enrol without a client certificate")
        }
        guard !request.token.isEmpty else { throw InvalidInput("missing invite token") }
        let displayName = try DisplayName.validate(request.displayName)
        let payoutHandle = try PayoutHandle.validate(request.payoutHandle)
        let stream = request.stream.isEmpty ? nil : try StreamName.validate(request.stream)
        let csr: CertificateSigningRequest
        do { csr = try CertificateSigningRequest(der: request.csrDER) } catch {
            throw InvalidInput("bad certificate request: \(error)")
        }
        var certificate: Certificate?
        let node = try store.enroll(tokenHash: SecretHash.hex(of: request.token), stream: stream, now: clock()) { stream, inviteID in
            let nodeID = NodeID.generate()
            let issued = try authority.issueClientCertificate(for: csr, nodeID: nodeID)
            certificate = issued
            return NodeRecord(nodeID: nodeID, displayName: displayName, payoutHandle: payoutHandle, stream: stream,
                              certificateSHA256: SHA256Digest.hex(SHA256Digest.hash(issued.derBytes())),
                              inviteID: inviteID, enrolledAt: clock())
        }
        guard let certificate else { throw ErrorMessage(.internalError, "no certificate was issued") }
        return EnrollResponse(nodeID: node.nodeID, certificateDER: certificate.derBytes(),
                              caCertificateDER: authority.certificate.derBytes(),
                              settings: NodeSettings(heartbeatIntervalMs: heartbeatIntervalMs,
                                                     ingestAddress: endpoints.ingestAddress,
                                                     streams: node.stream.map { [$0] } ?? []))
    }

    static func errorMessage(for error: any Error) -> ErrorMessage {
        if let error = error as? ErrorMessage { return error }
        return AdminService.errorMessage(for: error)
    }
}
