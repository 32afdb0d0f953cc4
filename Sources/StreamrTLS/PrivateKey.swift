import COpenSSL

/// An EC P-256 private key (EVP_PKEY).
public final class PrivateKey: @unchecked Sendable {
    // EVP_PKEY is immutable after creation and reference-counted by OpenSSL, so sharing is safe.
    let pointer: OpaquePointer

    init(taking pointer: OpaquePointer) { self.pointer = pointer }
    deinit { EVP_PKEY_free(pointer) }

    /// A fresh P-256 key.
    public static func generate() throws -> PrivateKey {
        guard let key = streamr_ec_p256_keygen() else { throw TLSError.drain(.key, "EC P-256 key generation failed") }
        return PrivateKey(taking: key)
    }

    public convenience init(pem: String) throws {
        // An empty passphrase callback: an encrypted key fails instead of OpenSSL prompting on a terminal.
        let key = try withMemoryBIO(Array(pem.utf8)) { bio in PEM_read_bio_PrivateKey(bio, nil, { _, _, _, _ in 0 }, nil) }
        guard let key else { throw TLSError.drain(.key, "not an unencrypted PEM private key") }
        self.init(taking: key)
    }

    /// PKCS#8 PEM, unencrypted (files holding it are mode 0600).
    public func pemString() throws -> String {
        let bytes = try collectingMemoryBIO { bio in
            guard PEM_write_bio_PrivateKey(bio, pointer, nil, nil, 0, nil, nil) == 1 else {
                throw TLSError.drain(.key, "PEM_write_bio_PrivateKey failed")
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// DER of the SubjectPublicKeyInfo.
    public func publicKeyDER() throws -> [UInt8] { try spkiDER(of: pointer) }
}

func spkiDER(of key: OpaquePointer) throws -> [UInt8] {
    let length = i2d_PUBKEY(key, nil)
    guard length > 0 else { throw TLSError.drain(.key, "i2d_PUBKEY failed") }
    var out = [UInt8](repeating: 0, count: Int(length))
    out.withUnsafeMutableBufferPointer { buffer in
        var cursor: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
        _ = i2d_PUBKEY(key, &cursor)
    }
    return out
}
