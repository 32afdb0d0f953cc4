import COpenSSL

/// A public key (EVP_PKEY) from its SubjectPublicKeyInfo: the host's chunk-signing key, which
/// nodes pin at join and check every chunk seal against, whoever relayed it.
public final class PublicKey: @unchecked Sendable, Equatable {
    // EVP_PKEY is immutable once made and reference-counted by OpenSSL, so sharing is safe.
    let pointer: OpaquePointer
    /// SubjectPublicKeyInfo, DER.
    public let der: [UInt8]

    public init(der: [UInt8]) throws {
        let key: OpaquePointer? = der.withUnsafeBufferPointer { buffer in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            return d2i_PUBKEY(nil, &cursor, buffer.count)
        }
        guard let key else { throw TLSError.drain(.key, "not a DER SubjectPublicKeyInfo") }
        pointer = key
        self.der = der
    }

    public convenience init(pem: String) throws {
        let key = try withMemoryBIO(Array(pem.utf8)) { bio in PEM_read_bio_PUBKEY(bio, nil, { _, _, _, _ in 0 }, nil) }
        guard let key else { throw TLSError.drain(.key, "not a PEM public key") }
        defer { EVP_PKEY_free(key) }
        try self.init(der: try spkiDER(of: key))
    }

    deinit { EVP_PKEY_free(pointer) }

    public var pemString: String {
        (try? collectingMemoryBIO { bio in _ = PEM_write_bio_PUBKEY(bio, pointer) }).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    /// SHA-256 of the SubjectPublicKeyInfo (how a key is named in logs and checks).
    public var sha256: [UInt8] { SHA256Digest.hash(der) }

    /// Whether `signature` (DER ECDSA/SHA-256) is this key's over `message`.
    public func verifies(signature: [UInt8], of message: [UInt8]) -> Bool {
        guard !signature.isEmpty, let context = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestVerifyInit(context, nil, EVP_sha256(), nil, pointer) == 1 else { return false }
        return signature.withUnsafeBufferPointer { s in
            message.withUnsafeBufferPointer { m in EVP_DigestVerify(context, s.baseAddress, s.count, m.baseAddress, m.count) == 1 }
        }
    }

    public static func == (lhs: PublicKey, rhs: PublicKey) -> Bool { lhs.der == rhs.der }
}

extension PrivateKey {
    /// The public half.
    public func publicKey() throws -> PublicKey { try PublicKey(der: try publicKeyDER()) }
}
