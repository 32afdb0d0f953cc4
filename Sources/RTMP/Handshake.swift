/// HMAC-SHA256, injected so this module needs no crypto of its own (StreamrTLS has one
/// backed by OpenSSL). Must return 32 bytes.
public typealias RTMPHMACSHA256 = @Sendable (_ key: [UInt8], _ data: [UInt8]) -> [UInt8]

public enum RTMPHandshakeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// C0 was not 3 (6 would be RTMPE, which we do not speak).
    case unsupportedVersion(UInt8)

    public var description: String {
        switch self {
        case .unsupportedVersion(let v):
            "RTMP handshake: client asked for protocol version \(v), only 3 (plain RTMP) is supported"
        }
    }
}

/// Server side of the RTMP handshake (spec 5.2), plus the Flash Player 9 "digest" form that
/// Flash, librtmp (OBS) and ffmpeg send: C0+C1 in, S0+S1+S2 out, then C2 in and done.
/// Fed arbitrary slices; bytes after C2 (the first chunks) come back in `remaining`.
public struct RTMPServerHandshake: Sendable {
    public static let packetSize = 1536

    /// "Genuine Adobe Flash Player 001": the key a client signs C1 with.
    public static let clientKey: [UInt8] = Array("Genuine Adobe Flash Player 001".utf8)
    /// "Genuine Adobe Flash Media Server 001": the key the server signs S1 with.
    public static let serverKey: [UInt8] = Array("Genuine Adobe Flash Media Server 001".utf8)
    /// The server key plus 32 constant bytes: keys the digest that signs S2.
    public static let serverFullKey: [UInt8] = serverKey + [
        0xF0, 0xEE, 0xC2, 0x4A, 0x80, 0x68, 0xBE, 0xE8, 0x2E, 0x00, 0xD0, 0xD1,
        0x02, 0x9E, 0x7E, 0x57, 0x6E, 0xEC, 0x5D, 0x2D, 0x29, 0x80, 0x6F, 0xAB,
        0x93, 0xB8, 0xE6, 0x36, 0xCF, 0xEB, 0x31, 0xAE,
    ]
    /// Version field of a digest S1; its second byte must be >= 3 or ffmpeg skips checking it.
    public static let serverVersion: [UInt8] = [0x0D, 0x0E, 0x0A, 0x0D]

    public enum Form: Equatable, Sendable {
        /// Spec form: S1 has a zero version, S2 echoes C1.
        case plain
        /// C1 carried a valid digest at the position of `scheme` 0 (offset from bytes 8-11)
        /// or 1 (offset from bytes 772-775); S1 and S2 are signed to match.
        case digest(scheme: Int)
    }

    public struct Output: Equatable, Sendable {
        /// Bytes to write to the client (S0+S1+S2 once, otherwise empty).
        public var send: [UInt8]
        public var isComplete: Bool
        /// Bytes fed after C2: the start of the chunk stream.
        public var remaining: [UInt8]
    }

    private enum Stage { case c0c1, c2, done }
    private var stage = Stage.c0c1
    private var buffer: [UInt8] = []
    private let hmac: RTMPHMACSHA256
    private let epoch: UInt32
    private let randomBytes: @Sendable (Int) -> [UInt8]
    /// Which form the client used; nil until C1 has arrived.
    public private(set) var form: Form?
    public var isComplete: Bool { stage == .done }

    /// `epoch` goes into S1's time field; `randomBytes` fills S1/S2 (tests make it deterministic).
    public init(hmac: @escaping RTMPHMACSHA256, epoch: UInt32 = 0,
                randomBytes: @escaping @Sendable (Int) -> [UInt8] = RTMPServerHandshake.systemRandom) {
        self.hmac = hmac; self.epoch = epoch; self.randomBytes = randomBytes
    }

    public static func systemRandom(_ count: Int) -> [UInt8] {
        var g = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &g) }
    }

    public mutating func receive(_ bytes: [UInt8]) throws -> Output {
        switch stage {
        case .done:
            return Output(send: [], isComplete: true, remaining: bytes)
        case .c0c1:
            // Check C0 as soon as it arrives, so a wrong client fails before sending 1536 bytes.
            if buffer.isEmpty, let c0 = bytes.first, c0 != 3 { throw RTMPHandshakeError.unsupportedVersion(c0) }
            buffer += bytes
            guard buffer.count >= 1 + Self.packetSize else { return Output(send: [], isComplete: false, remaining: []) }
            let c1 = Array(buffer[1 ..< 1 + Self.packetSize])
            let rest = Array(buffer[(1 + Self.packetSize)...])
            buffer = []
            stage = .c2
            let reply = respond(to: c1)
            var out = try receive(rest)
            out.send = reply + out.send
            return out
        case .c2:
            buffer += bytes
            guard buffer.count >= Self.packetSize else { return Output(send: [], isComplete: false, remaining: []) }
            // C2 is not checked: clients differ in what they echo, and nginx-rtmp/SRS ignore it too.
            let rest = Array(buffer[Self.packetSize...])
            buffer = []
            stage = .done
            return Output(send: [], isComplete: true, remaining: rest)
        }
    }

    private mutating func respond(to c1: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [3]
        out.reserveCapacity(1 + 2 * Self.packetSize)
        if let (scheme, clientDigest) = Self.findDigest(in: c1, key: Self.clientKey, hmac: hmac) {
            form = .digest(scheme: scheme)
            var s1: [UInt8] = []
            s1.reserveCapacity(Self.packetSize)
            s1.appendBE32(epoch)
            s1 += Self.serverVersion
            s1 += random(Self.packetSize - 8)
            let at = Self.digestOffset(s1, scheme: scheme)
            let digest = hmac(Self.serverKey, Self.withoutDigest(s1, at: at))
            s1.replaceSubrange(at ..< at + 32, with: digest)
            var s2 = random(Self.packetSize - 32)
            let s2Key = hmac(Self.serverFullKey, clientDigest)
            s2 += hmac(s2Key, s2)
            out += s1
            out += s2
        } else {
            form = .plain
            out.appendBE32(epoch)
            out += [0, 0, 0, 0]
            out += random(Self.packetSize - 8)
            out += c1
        }
        return out
    }

    private func random(_ count: Int) -> [UInt8] {
        let bytes = randomBytes(count)
        precondition(bytes.count == count, "randomBytes returned \(bytes.count) bytes, wanted \(count)")
        return bytes
    }

    // MARK: Digest layout (shared with clients; tests build a C1 with these)

    /// Where the 32-byte digest sits in a 1536-byte packet: scheme 0 sums bytes 8-11 and
    /// starts at 12; scheme 1 sums bytes 772-775 and starts at 776 (both modulo 728).
    public static func digestOffset(_ packet: [UInt8], scheme: Int) -> Int {
        let base = scheme == 0 ? 8 : 772
        let sum = Int(packet[base]) + Int(packet[base + 1]) + Int(packet[base + 2]) + Int(packet[base + 3])
        return sum % 728 + base + 4
    }

    /// The packet minus its 32 digest bytes: what the digest is computed over.
    public static func withoutDigest(_ packet: [UInt8], at offset: Int) -> [UInt8] {
        Array(packet[..<offset]) + Array(packet[(offset + 32)...])
    }

    /// The scheme and digest of a packet signed with `key`, trying scheme 1 then 0 as
    /// nginx-rtmp and ffmpeg do; nil for a plain packet (zero version field) or no match.
    public static func findDigest(in packet: [UInt8], key: [UInt8], hmac: RTMPHMACSHA256) -> (Int, [UInt8])? {
        guard packet.count == packetSize, packet[4] | packet[5] | packet[6] | packet[7] != 0 else { return nil }
        for scheme in [1, 0] {
            let at = digestOffset(packet, scheme: scheme)
            let digest = Array(packet[at ..< at + 32])
            if hmac(key, withoutDigest(packet, at: at)) == digest { return (scheme, digest) }
        }
        return nil
    }
}
