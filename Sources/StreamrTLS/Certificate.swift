import COpenSSL

/// An X.509 certificate (OpenSSL X509), immutable once made.
public final class Certificate: @unchecked Sendable, Equatable {
    // Never mutated after construction; OpenSSL reference-counts X509.
    let pointer: OpaquePointer

    init(taking pointer: OpaquePointer) { self.pointer = pointer }
    init(retaining pointer: OpaquePointer) { X509_up_ref(pointer); self.pointer = pointer }
    deinit { X509_free(pointer) }

    public convenience init(der: [UInt8]) throws {
        let x509: OpaquePointer? = der.withUnsafeBufferPointer { buffer in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            return d2i_X509(nil, &cursor, buffer.count)
        }
        guard let x509 else { throw TLSError.drain(.certificate, "not a DER certificate") }
        self.init(taking: x509)
    }

    public convenience init(pem: String) throws {
        let x509 = try withMemoryBIO(Array(pem.utf8)) { bio in PEM_read_bio_X509(bio, nil, nil, nil) }
        guard let x509 else { throw TLSError.drain(.certificate, "not a PEM certificate") }
        self.init(taking: x509)
    }

    /// Every certificate in a PEM bundle, in order.
    public static func all(pem: String) throws -> [Certificate] {
        try withMemoryBIO(Array(pem.utf8)) { bio in
            var result: [Certificate] = []
            while let x509 = PEM_read_bio_X509(bio, nil, nil, nil) { result.append(Certificate(taking: x509)) }
            ERR_clear_error() // the loop ends on an expected "no start line"
            guard !result.isEmpty else { throw TLSError(.certificate, "no certificate in PEM data") }
            return result
        }
    }

    /// SHA-256 of the DER encoding, hex: how the coordinator records which certificate a node holds.
    public var sha256Hex: String { SHA256Digest.hex(SHA256Digest.hash(derBytes())) }

    public func derBytes() -> [UInt8] {
        let length = i2d_X509(pointer, nil)
        guard length > 0 else { return [] }
        var out = [UInt8](repeating: 0, count: Int(length))
        out.withUnsafeMutableBufferPointer { buffer in
            var cursor: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
            _ = i2d_X509(pointer, &cursor)
        }
        return out
    }

    public func pemString() -> String {
        let bytes = (try? collectingMemoryBIO { bio in _ = PEM_write_bio_X509(bio, pointer) }) ?? []
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The subject's commonName (a node's id for client certificates).
    public var commonName: String? {
        guard let name = X509_get_subject_name(pointer) else { return nil }
        let index = X509_NAME_get_index_by_NID(name, NID_commonName, -1)
        guard index >= 0, let entry = X509_NAME_get_entry(name, index),
              let data = X509_NAME_ENTRY_get_data(entry), let utf8 = ASN1_STRING_get0_data(data) else { return nil }
        return String(decoding: UnsafeBufferPointer(start: utf8, count: Int(ASN1_STRING_length(data))), as: UTF8.self)
    }

    /// SHA-256 of the SubjectPublicKeyInfo: what an invite pins (`ca=sha256:<hex>`).
    public var publicKeySHA256: [UInt8] {
        guard let key = X509_get0_pubkey(pointer), let der = try? spkiDER(of: key) else { return [] }
        return SHA256Digest.hash(der)
    }

    /// Whether `issuer`'s key signed this certificate.
    public func isSigned(by issuer: Certificate) -> Bool {
        guard let key = X509_get0_pubkey(issuer.pointer) else { return false }
        return X509_verify(pointer, key) == 1
    }

    public static func == (lhs: Certificate, rhs: Certificate) -> Bool { X509_cmp(lhs.pointer, rhs.pointer) == 0 }
}

/// A PKCS#10 certificate signing request, as a node sends it at enrolment.
public final class CertificateSigningRequest: @unchecked Sendable {
    let pointer: OpaquePointer

    init(taking pointer: OpaquePointer) { self.pointer = pointer }
    deinit { X509_REQ_free(pointer) }

    /// A request for `commonName` signed with `key` (proof of possession).
    public convenience init(key: PrivateKey, commonName: String) throws {
        guard let req = X509_REQ_new() else { throw TLSError.drain(.certificate, "X509_REQ_new failed") }
        self.init(taking: req)
        guard X509_REQ_set_version(req, 0) == 1,
              let name = X509_REQ_get_subject_name(req),
              X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, commonName, -1, -1, 0) == 1,
              X509_REQ_set_pubkey(req, key.pointer) == 1,
              X509_REQ_sign(req, key.pointer, EVP_sha256()) > 0 else {
            throw TLSError.drain(.certificate, "could not build the certificate request")
        }
    }

    /// Parses DER and checks the request's self-signature.
    public convenience init(der: [UInt8]) throws {
        let req: OpaquePointer? = der.withUnsafeBufferPointer { buffer in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            return d2i_X509_REQ(nil, &cursor, buffer.count)
        }
        guard let req else { throw TLSError.drain(.certificate, "not a DER certificate request") }
        self.init(taking: req)
        guard let key = X509_REQ_get0_pubkey(req), X509_REQ_verify(req, key) == 1 else {
            throw TLSError.drain(.certificate, "certificate request signature does not verify")
        }
    }

    public func derBytes() -> [UInt8] {
        let length = i2d_X509_REQ(pointer, nil)
        guard length > 0 else { return [] }
        var out = [UInt8](repeating: 0, count: Int(length))
        out.withUnsafeMutableBufferPointer { buffer in
            var cursor: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
            _ = i2d_X509_REQ(pointer, &cursor)
        }
        return out
    }
}
