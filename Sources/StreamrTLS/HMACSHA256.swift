import COpenSSL

/// HMAC-SHA256 from OpenSSL, for callers that need a keyed digest (e.g. the RTMP digest
/// handshake, whose pure module takes it as an injected function).
public enum HMACSHA256 {
    public static func mac(key: [UInt8], data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        var length: UInt32 = 0
        let ok = key.withUnsafeBytes { k in
            data.withUnsafeBytes { d in
                HMAC(EVP_sha256(), k.baseAddress, Int32(k.count),
                     d.baseAddress?.assumingMemoryBound(to: UInt8.self), d.count, &out, &length)
            }
        }
        precondition(ok != nil && length == 32, "HMAC-SHA256 failed")
        return out
    }
}
