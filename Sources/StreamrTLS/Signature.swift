import COpenSSL

/// ECDSA with SHA-256 (the host key signs the chunk hash chain; anyone with the host's
/// certificate checks it). Signatures are DER, as `openssl dgst -sha256 -sign` writes them.
extension PrivateKey {
    public func sign(_ message: [UInt8]) throws -> [UInt8] {
        guard let context = EVP_MD_CTX_new() else { throw TLSError.drain(.key, "EVP_MD_CTX_new failed") }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestSignInit(context, nil, EVP_sha256(), nil, pointer) == 1 else {
            throw TLSError.drain(.key, "EVP_DigestSignInit failed")
        }
        var length = 0
        guard message.withUnsafeBufferPointer({ EVP_DigestSign(context, nil, &length, $0.baseAddress, $0.count) }) == 1 else {
            throw TLSError.drain(.key, "EVP_DigestSign (length) failed")
        }
        var signature = [UInt8](repeating: 0, count: length)
        guard message.withUnsafeBufferPointer({ m in
            signature.withUnsafeMutableBufferPointer { EVP_DigestSign(context, $0.baseAddress, &length, m.baseAddress, m.count) }
        }) == 1 else { throw TLSError.drain(.key, "EVP_DigestSign failed") }
        return Array(signature.prefix(length))
    }
}

extension Certificate {
    /// Whether `signature` is this certificate's key's ECDSA/SHA-256 signature over `message`.
    public func verifies(signature: [UInt8], of message: [UInt8]) -> Bool {
        guard let key = X509_get0_pubkey(pointer), let context = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestVerifyInit(context, nil, EVP_sha256(), nil, key) == 1 else { return false }
        return signature.withUnsafeBufferPointer { s in
            message.withUnsafeBufferPointer { m in
                EVP_DigestVerify(context, s.baseAddress, s.count, m.baseAddress, m.count) == 1
            }
        }
    }
}
