import COpenSSL

/// The host's certificate authority: it issues the server certificates of the
/// host's daemons and the client certificates of enrolled nodes.
public struct CertificateAuthority: Sendable {
    public let certificate: Certificate
    public let key: PrivateKey

    public init(certificate: Certificate, key: PrivateKey) { self.certificate = certificate; self.key = key }

    /// A new self-signed CA (P-256, SHA-256), valid for `days`.
    public static func create(commonName: String = "Streamr host CA", days: Int = 3650) throws -> CertificateAuthority {
        let key = try PrivateKey.generate()
        let cert = try buildCertificate(subjectCN: commonName, publicKey: key.pointer, issuer: nil, signer: key, days: days,
                                        extensions: [(NID_basic_constraints, "critical,CA:TRUE,pathlen:0"),
                                                     (NID_key_usage, "critical,keyCertSign,cRLSign"),
                                                     (NID_subject_key_identifier, "hash")])
        return CertificateAuthority(certificate: cert, key: key)
    }

    /// A TLS server certificate for the given DNS names and IP addresses.
    public func issueServerCertificate(key serverKey: PrivateKey, commonName: String, dnsNames: [String],
                                       ipAddresses: [String] = [], days: Int = 825) throws -> Certificate {
        let names = dnsNames.map { "DNS:\($0)" } + ipAddresses.map { "IP:\($0)" }
        var extensions: [(Int32, String)] = [(NID_basic_constraints, "critical,CA:FALSE"),
                                             (NID_key_usage, "critical,digitalSignature"),
                                             (NID_ext_key_usage, "serverAuth"),
                                             (NID_authority_key_identifier, "keyid")]
        if !names.isEmpty { extensions.append((NID_subject_alt_name, names.joined(separator: ","))) }
        return try Self.buildCertificate(subjectCN: commonName, publicKey: serverKey.pointer, issuer: certificate,
                                         signer: key, days: days, extensions: extensions)
    }

    /// A client certificate for an enrolling node. The subject is the node id the
    /// coordinator chose, whatever the request asked for; the key is the request's.
    public func issueClientCertificate(for request: CertificateSigningRequest, nodeID: String, days: Int = 825) throws -> Certificate {
        guard let publicKey = X509_REQ_get0_pubkey(request.pointer) else {
            throw TLSError.drain(.certificate, "certificate request has no public key")
        }
        return try Self.buildCertificate(subjectCN: nodeID, publicKey: publicKey, issuer: certificate, signer: key, days: days,
                                         extensions: [(NID_basic_constraints, "critical,CA:FALSE"),
                                                      (NID_key_usage, "critical,digitalSignature"),
                                                      (NID_ext_key_usage, "clientAuth,serverAuth"),
                                                      (NID_authority_key_identifier, "keyid")])
    }

    private static func buildCertificate(subjectCN: String, publicKey: OpaquePointer, issuer: Certificate?, signer: PrivateKey,
                                         days: Int, extensions: [(Int32, String)]) throws -> Certificate {
        guard let x509 = X509_new() else { throw TLSError.drain(.certificate, "X509_new failed") }
        let cert = Certificate(taking: x509)
        guard X509_set_version(x509, 2) == 1 else { throw TLSError.drain(.certificate, "X509_set_version failed") }

        // A random positive 127-bit serial, as RFC 5280 recommends (unpredictable, ≤ 20 octets).
        guard let serial = BN_new() else { throw TLSError.drain(.certificate, "BN_new failed") }
        defer { BN_free(serial) }
        guard BN_rand(serial, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1,
              BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x509)) != nil else {
            throw TLSError.drain(.certificate, "could not set the serial number")
        }
        guard X509_gmtime_adj(X509_getm_notBefore(x509), -3600) != nil,
              X509_gmtime_adj(X509_getm_notAfter(x509), days * 86_400) != nil else {
            throw TLSError.drain(.certificate, "could not set the validity period")
        }
        guard let subject = X509_get_subject_name(x509),
              X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_UTF8, "Streamr", -1, -1, 0) == 1,
              X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8, subjectCN, -1, -1, 0) == 1,
              X509_set_issuer_name(x509, issuer.map { X509_get_subject_name($0.pointer) } ?? subject) == 1,
              X509_set_pubkey(x509, publicKey) == 1 else {
            throw TLSError.drain(.certificate, "could not set the subject and key")
        }
        var context = X509V3_CTX()
        streamr_x509v3_set_ctx_nodb(&context)
        X509V3_set_ctx(&context, issuer?.pointer ?? x509, x509, nil, nil, 0)
        for (nid, value) in extensions {
            guard let ext = X509V3_EXT_conf_nid(nil, &context, nid, value) else {
                throw TLSError.drain(.certificate, "bad extension \(value)")
            }
            defer { X509_EXTENSION_free(ext) }
            guard X509_add_ext(x509, ext, -1) == 1 else { throw TLSError.drain(.certificate, "X509_add_ext failed") }
        }
        guard X509_sign(x509, signer.pointer, EVP_sha256()) > 0 else { throw TLSError.drain(.certificate, "X509_sign failed") }
        return cert
    }
}
