/// Secrets handed out once and stored only as their SHA-256 (`hash`, in the Coordinator module): a leaked database
/// gives no one a stream key or a usable invite.
public struct Secret: Sendable, Equatable {
    /// The text shown to the user once (base64url, no padding).
    public let text: String

    public init(text: String) { self.text = text }

    /// 32 random bytes from the system's CSPRNG (getrandom on Linux).
    public static func generate<G: RandomNumberGenerator>(using generator: inout G) -> Secret {
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Secret(text: Base64URL.encode(bytes))
    }

    public static func generate() -> Secret {
        var generator = SystemRandomNumberGenerator()
        return generate(using: &generator)
    }
}

/// Node ids: short, random, readable in logs and usable as a certificate CN.
public enum NodeID {
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        return "node-" + Hex.encode((0..<6).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }

    public static func isValid(_ text: String) -> Bool {
        text.hasPrefix("node-") && text.count == 17 && Hex.decode(String(text.dropFirst(5))) != nil
            && text == text.lowercased()
    }
}

/// RFC 4648 §5 base64url without padding: safe in URLs, shell single quotes and RTMP paths.
public enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var out = [UInt8]()
        var i = 0
        while i < bytes.count {
            let chunk = bytes[i..<min(i + 3, bytes.count)]
            var n = 0
            for (j, byte) in chunk.enumerated() { n |= Int(byte) << (16 - 8 * j) }
            for j in 0...chunk.count { out.append(alphabet[(n >> (18 - 6 * j)) & 0x3f]) }
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether every character is in the base64url alphabet.
    public static func isEncoded(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { alphabet.contains($0) }
    }
}
