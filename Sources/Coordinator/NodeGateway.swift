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
    /// The host's chunk-signing key (SubjectPublicKeyInfo DER), sent at enrolment and on every
    /// session's first ack.
    let signingKeyDER: [UInt8]
    let clock: @Sendable () -> Int64
    public let sessions: NodeSessions
    let logger: Logger
    /// A friend's questions about their own money, on their node's session.
    let admin: AdminService?

    public init(store: CoordinatorStore, authority: CertificateAuthority, endpoints: PublicEndpoints,
                heartbeatIntervalMs: UInt32 = 5000, signingKeyDER: [UInt8] = [], clock: @escaping @Sendable () -> Int64 = CoordinatorStore.now,
                sessions: NodeSessions? = nil, admin: AdminService? = nil, logger: Logger) throws {
        self.store = store; self.authority = authority; self.endpoints = endpoints; self.admin = admin
        self.heartbeatIntervalMs = heartbeatIntervalMs; self.signingKeyDER = signingKeyDER; self.clock = clock; self.logger = logger
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
                // An abandoning join must not be confirmed by its own connection first.
                var abandoning = false
                if case .enrollConfirm(let confirm) = envelope.body, confirm.abandon { abandoning = true }
                try self.admit(nodeID: nodeID, certificate: certificate, confirming: !abandoning)
                self.sessions.admit(connection, node: nodeID)
                node = nodeID
            }
            switch envelope.body {
            case .enrollRequest(let request):
                return .enrollResponse(try self.enroll(request, peer: connection.peer))
            case .enrollConfirm(let confirm):
                guard let node, node == confirm.nodeID else {
                    throw ErrorMessage(.unauthenticated, "a join is confirmed with the certificate it issued")
                }
                if confirm.abandon {
                    // Nothing to keep: the node could not store its identity. Its invite use comes back.
                    try self.store.abandonEnrollment(node: node)
                    self.logger.notice("node \(node) abandoned its join: \(confirm.reason); the invite use is given back", metadata: [
                        "event": "enrollment_abandoned", "node": "\(node)", "reason": "\(confirm.reason)"])
                    throw CloseConnection(ErrorMessage(.failedPrecondition, "enrolment of \(node) undone"))
                }
                return .enrollConfirm(EnrollConfirm(nodeID: node))
            case .adminRequest(let request):
                // Only a node's own earnings, and only for the node the certificate names.
                guard let node else { throw ErrorMessage(.unauthenticated, "only an enrolled node may ask about its earnings") }
                guard let admin = self.admin, request.command.first == "earnings" || request.command == ["balance", "mine"] else {
                    throw ErrorMessage(.permissionDenied, "a node may ask only about its own earnings")
                }
                do {
                    switch request.command {
                    case ["earnings", "mine"]: return .adminResponse(try admin.earnings(ofNode: node))
                    case ["balance", "mine"]: return .adminResponse(try admin.balances(ofNode: node))
                    case ["earnings", "explain"]:
                        let args = request.arguments.filter { $0.name != "node" } + [AdminArgument("node", node)]
                        return .adminResponse(try admin.handle(AdminRequest(command: ["earnings", "explain"], arguments: args)))
                    default: throw ErrorMessage(.permissionDenied, "a node may ask only about its own earnings")
                    }
                } catch let error as ErrorMessage { throw error } catch {
                    throw AdminService.errorMessage(for: error)
                }
            case .heartbeat(let heartbeat):
                // A replayed or out-of-order heartbeat is refused (.replayed) and nothing of it is
                // stored, but the session stays up: the node's next, newer heartbeat is accepted.
                guard let node else {
                    throw ErrorMessage(.unauthenticated, "heartbeats are accepted only from an enrolled node's certificate")
                }
                // Answered once committed, from the recorder's batch (no task waits per heartbeat).
                // A session's first ack carries the node's settings, read now (once per session).
                let settings = self.sessions.hasSession(connection) ? nil : try self.settings(for: node)
                let id = envelope.id
                try self.sessions.submitHeartbeat(heartbeat, node: node, connection: connection) { result in
                    guard id != 0 else { return }
                    switch result {
                    case .success(var accepted):
                        if accepted.firstOfSession { accepted.ack.settings = settings }
                        connection.replyNow(to: id, .heartbeatAck(accepted.ack))
                    case .failure(let error):
                        connection.replyNow(to: id, .error(error))
                    }
                }
                return nil
            default:
                return try await next(envelope, connection)
            }
        }
    }

    /// What a node is told to do: its heartbeat interval, where to subscribe, its streams, and
    /// the host's signing key.
    func settings(for nodeID: String) throws -> NodeSettings {
        let node = try store.node(id: nodeID)
        return NodeSettings(heartbeatIntervalMs: heartbeatIntervalMs, ingestAddress: endpoints.ingestAddress,
                            streams: node.stream.map { [$0] } ?? [], signingKeyDER: signingKeyDER)
    }

    func admit(nodeID: String, certificate: Certificate, confirming: Bool = true) throws {
        let node: NodeRecord
        do { node = try store.node(id: nodeID) } catch CoordinatorStoreError.unknownNode {
            throw CloseConnection(ErrorMessage(.permissionDenied, "node \(nodeID) is not enrolled here; join again with a new invite"))
        }
        guard node.enabled else {
            // FAILED_PRECONDITION, as proto/streamr.proto documents for a disabled node.
            throw CloseConnection(ErrorMessage(.failedPrecondition, "node \(nodeID) has been disabled by the host"))
        }
        guard certificate.sha256Hex == node.certificateSHA256 else {
            logger.warning("node \(nodeID) presented a certificate that was not issued to it", metadata: [
                "event": "certificate_mismatch", "node": "\(nodeID)"])
            throw CloseConnection(ErrorMessage(.permissionDenied, "this certificate was not issued to node \(nodeID)"))
        }
        // A node connecting with the certificate it was issued has stored it: the join is done
        // (the join command confirms too, but it may have lost the network just then).
        if confirming, node.pending, try store.confirmEnrollment(node: nodeID) {
            logger.notice("node \(nodeID) confirmed its join", metadata: ["event": "enrollment_confirmed", "node": "\(nodeID)"])
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
                              certificateSHA256: issued.sha256Hex,
                              inviteID: inviteID, enrolledAt: clock())
        }
        guard let certificate else { throw ErrorMessage(.internalError, "no certificate was issued") }
        return EnrollResponse(nodeID: node.nodeID, certificateDER: certificate.derBytes(),
                              caCertificateDER: authority.certificate.derBytes(),
                              settings: NodeSettings(heartbeatIntervalMs: heartbeatIntervalMs,
                                                     ingestAddress: endpoints.ingestAddress,
                                                     streams: node.stream.map { [$0] } ?? [], signingKeyDER: signingKeyDER))
    }

    static func errorMessage(for error: any Error) -> ErrorMessage {
        if let error = error as? ErrorMessage { return error }
        return AdminService.errorMessage(for: error)
    }
}
