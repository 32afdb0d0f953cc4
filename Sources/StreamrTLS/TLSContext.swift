import COpenSSL

/// A certificate chain (leaf first) and its private key.
public struct TLSIdentity: Sendable {
    public var chain: [Certificate]
    public var key: PrivateKey
    public init(chain: [Certificate], key: PrivateKey) { self.chain = chain; self.key = key }
}

public enum ClientCertificatePolicy: Sendable {
    /// Do not ask for one.
    case none
    /// Ask, verify it if sent, allow connections without one (e.g. enrolment).
    case optional
    /// Refuse the handshake without a valid one.
    case required
}

/// Who a client expects on the other end, beyond "signed by the CA": node certificates can
/// serve too (a node relays to child nodes), so a node's connection to its host must not take a
/// fellow node's certificate for the host's.
public enum ExpectedPeer: Sendable, Equatable {
    case any
    /// One of the host's own certificates: not a node's (node certificates are `node-…`).
    case host
    /// The node with this id.
    case node(String)

    /// Node certificates carry the node id as their common name.
    public static func isNodeName(_ name: String?) -> Bool { name?.hasPrefix("node-") ?? false }

    func admits(_ certificate: Certificate?) -> Bool {
        switch self {
        case .any: true
        case .host: certificate != nil && !Self.isNodeName(certificate?.commonName)
        case .node(let id): certificate?.commonName == id
        }
    }
}

public struct TLSConfiguration: Sendable {
    public enum Role: Sendable { case server, client }
    public var role: Role
    public var identity: TLSIdentity?
    /// CA certificates that peer certificates must chain to.
    public var trustRoots: [Certificate]
    public var clientCertificates: ClientCertificatePolicy
    /// Client only: the SHA-256 of the CA's SubjectPublicKeyInfo. When set, the
    /// server's chain must contain a certificate with this key, and the leaf must
    /// chain to it; `trustRoots` is then not needed (first contact at enrolment).
    public var pinnedCAKeySHA256: [UInt8]?
    /// Client only: checked once the handshake completes.
    public var expectedPeer: ExpectedPeer = .any

    public static func server(identity: TLSIdentity, trustRoots: [Certificate] = [],
                              clientCertificates: ClientCertificatePolicy = .required) -> TLSConfiguration {
        TLSConfiguration(role: .server, identity: identity, trustRoots: trustRoots,
                         clientCertificates: clientCertificates, pinnedCAKeySHA256: nil)
    }

    public static func client(identity: TLSIdentity? = nil, trustRoots: [Certificate] = [],
                              pinnedCAKeySHA256: [UInt8]? = nil, expectedPeer: ExpectedPeer = .any) -> TLSConfiguration {
        TLSConfiguration(role: .client, identity: identity, trustRoots: trustRoots,
                         clientCertificates: .none, pinnedCAKeySHA256: pinnedCAKeySHA256, expectedPeer: expectedPeer)
    }
}

/// A configured SSL_CTX: TLS 1.3 only, from the system's OpenSSL 3.
public final class TLSContext: @unchecked Sendable {
    // SSL_CTX is safe to share across threads once configured; we never change it after init.
    let pointer: OpaquePointer
    public let configuration: TLSConfiguration
    private let pin: PinBox?

    public init(_ configuration: TLSConfiguration) throws {
        self.configuration = configuration
        let method = configuration.role == .server ? TLS_server_method() : TLS_client_method()
        guard let ctx = SSL_CTX_new(method) else { throw TLSError.drain(.configuration, "SSL_CTX_new failed") }
        pointer = ctx
        pin = configuration.pinnedCAKeySHA256.map(PinBox.init)

        guard streamr_ssl_ctx_set_min_proto(ctx, TLS1_3_VERSION) == 1,
              streamr_ssl_ctx_set_max_proto(ctx, TLS1_3_VERSION) == 1 else {
            throw TLSError.drain(.configuration, "cannot restrict to TLS 1.3")
        }
        // No resumption: sessions are long-lived, and tickets would only add bytes.
        SSL_CTX_set_num_tickets(ctx, 0)

        if let identity = configuration.identity {
            guard let leaf = identity.chain.first else { throw TLSError(.configuration, "identity has no certificate") }
            guard SSL_CTX_use_certificate(ctx, leaf.pointer) == 1,
                  SSL_CTX_use_PrivateKey(ctx, identity.key.pointer) == 1,
                  SSL_CTX_check_private_key(ctx) == 1 else {
                throw TLSError.drain(.configuration, "certificate and key do not match")
            }
            for extra in identity.chain.dropFirst() where streamr_ssl_ctx_add1_chain_cert(ctx, extra.pointer) != 1 {
                throw TLSError.drain(.configuration, "cannot add chain certificate")
            }
        } else if configuration.role == .server {
            throw TLSError(.configuration, "a server needs a certificate")
        }

        let store = SSL_CTX_get_cert_store(ctx)
        for root in configuration.trustRoots where X509_STORE_add_cert(store, root.pointer) != 1 {
            throw TLSError.drain(.configuration, "cannot add trust root")
        }

        switch configuration.role {
        case .client:
            SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nil)
            if let pin {
                SSL_CTX_set_cert_verify_callback(ctx, pinnedVerify, Unmanaged.passUnretained(pin).toOpaque())
            } else if configuration.trustRoots.isEmpty {
                throw TLSError(.configuration, "a client needs trust roots or a CA pin")
            }
        case .server:
            switch configuration.clientCertificates {
            case .none: SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nil)
            case .optional: SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nil)
            case .required: SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nil)
            }
            if configuration.clientCertificates != .none && configuration.trustRoots.isEmpty {
                throw TLSError(.configuration, "verifying client certificates needs a trust root")
            }
        }
    }

    deinit { SSL_CTX_free(pointer) }

    public func makeConnection() throws -> TLSConnection { try TLSConnection(context: self) }
}

private final class PinBox: Sendable {
    let pin: [UInt8]
    init(_ pin: [UInt8]) { self.pin = pin }
}

/// Certificate verification by CA key pin: find the pinned key in the presented
/// chain, then run OpenSSL's normal chain verification with it as the only anchor.
private let pinnedVerify: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?) -> Int32 = { storeContext, argument in
    guard let storeContext, let argument, let leaf = X509_STORE_CTX_get0_cert(storeContext) else { return 0 }
    let pin = Unmanaged<PinBox>.fromOpaque(argument).takeUnretainedValue().pin
    let untrusted = X509_STORE_CTX_get0_untrusted(storeContext)
    var candidates = [leaf]
    if let untrusted {
        for i in 0..<streamr_sk_x509_num(untrusted) {
            if let cert = streamr_sk_x509_value(untrusted, i) { candidates.append(cert) }
        }
    }
    let anchor = candidates.first { cert in
        guard let key = X509_get0_pubkey(cert), let der = try? spkiDER(of: key) else { return false }
        return SHA256Digest.hash(der) == pin
    }
    guard let anchor else {
        X509_STORE_CTX_set_error(storeContext, X509_V_ERR_CERT_UNTRUSTED)
        return 0
    }
    guard let store = X509_STORE_new() else { return 0 }
    defer { X509_STORE_free(store) }
    guard X509_STORE_add_cert(store, anchor) == 1, let check = X509_STORE_CTX_new() else { return 0 }
    defer { X509_STORE_CTX_free(check) }
    // Carry over the handshake's verify parameters (purpose sslserver, depth, security level):
    // without them a CA-signed client certificate would pass as a server certificate.
    guard X509_STORE_CTX_init(check, store, leaf, untrusted) == 1,
          X509_VERIFY_PARAM_set1(X509_STORE_CTX_get0_param(check), X509_STORE_CTX_get0_param(storeContext)) == 1 else { return 0 }
    let verified = X509_verify_cert(check) == 1
    if !verified { X509_STORE_CTX_set_error(storeContext, X509_STORE_CTX_get_error(check)) }
    return verified ? 1 : 0
}
