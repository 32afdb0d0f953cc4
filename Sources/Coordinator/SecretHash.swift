import CoordinatorCore
import StreamrTLS

/// How secrets (stream keys, invite tokens) are stored: lower-case hex SHA-256 of
/// their text, computed by OpenSSL (StreamrTLS) rather than a second implementation.
public enum SecretHash {
    public static func hex(of text: String) -> String { SHA256Digest.hex(SHA256Digest.hash(Array(text.utf8))) }
}

extension Secret {
    /// What is stored in place of the secret.
    public var hash: String { SecretHash.hex(of: text) }
}
