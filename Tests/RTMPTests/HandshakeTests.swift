import RTMP
import StreamrTLS
import XCTest

final class HMACTests: XCTestCase {
    // Expected values from `printf ... | openssl dgst -sha256 -hmac KEY` (OpenSSL 3 CLI).
    func testKnownAnswers() {
        XCTAssertEqual(hex(HMACSHA256.mac(key: Array("key".utf8), data: Array("The quick brown fox jumps over the lazy dog".utf8))),
                       "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8")
        XCTAssertEqual(hex(HMACSHA256.mac(key: Array("Jefe".utf8), data: Array("what do ya want for nothing?".utf8))),
                       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        XCTAssertEqual(hex(hmac(RTMPServerHandshake.clientKey, Array("abc".utf8))),
                       "2f5b45c9faa07dc8dba12bd5fc3905e1f86fe6ef9f3a9643c91f1c5275d6f3d0")
    }
}

@Sendable private func fixedRandom(_ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) } }

final class HandshakeTests: XCTestCase {

    private func plainC1() -> [UInt8] {
        var g = SplitMix64(seed: 1)
        var c1: [UInt8] = [0, 0, 0x12, 0x34, 0, 0, 0, 0]
        c1 += randomBytes(1528, &g)
        return c1
    }

    /// A C1 signed as Flash/librtmp/ffmpeg sign it: version 9.0.124.2, digest at `scheme`.
    private func digestC1(scheme: Int, seed: UInt64) -> [UInt8] {
        var g = SplitMix64(seed: seed)
        var c1: [UInt8] = [0, 0, 0, 0, 9, 0, 124, 2] + randomBytes(1528, &g)
        let at = RTMPServerHandshake.digestOffset(c1, scheme: scheme)
        let digest = hmac(RTMPServerHandshake.clientKey, RTMPServerHandshake.withoutDigest(c1, at: at))
        c1.replaceSubrange(at ..< at + 32, with: digest)
        return c1
    }

    func testDigestLayoutAgainstOpenSSLCLI() {
        // C1 = bytes i & 0xff with version 9.0.124.2: scheme 0 puts the digest at
        // (8+9+10+11) % 728 + 12 = 50. The HMAC over the other 1504 bytes was computed with
        // `openssl dgst -sha256 -hmac 'Genuine Adobe Flash Player 001'`.
        var c1 = (0..<1536).map { UInt8(truncatingIfNeeded: $0) }
        c1.replaceSubrange(4..<8, with: [9, 0, 124, 2])
        XCTAssertEqual(RTMPServerHandshake.digestOffset(c1, scheme: 0), 50)
        // Scheme 1: bytes 772-775 hold 4, 5, 6, 7, so (22 % 728) + 776.
        XCTAssertEqual(RTMPServerHandshake.digestOffset(c1, scheme: 1), 798)
        let data = RTMPServerHandshake.withoutDigest(c1, at: 50)
        XCTAssertEqual(data.count, 1504)
        XCTAssertEqual(hex(hmac(RTMPServerHandshake.clientKey, data)),
                       "4c8139aadb7abdfdf4de5e7cac86fab51b1925c9ba787eb569c4076d6aa3b3b3")
        XCTAssertEqual(RTMPServerHandshake.serverFullKey.count, 68)
    }

    func testPlainHandshake() throws {
        var hs = RTMPServerHandshake(hmac: hmac, epoch: 0x0102_0304, randomBytes: fixedRandom)
        let c1 = plainC1()
        let out = try hs.receive([3] + c1)
        XCTAssertEqual(hs.form, .plain)
        XCTAssertFalse(out.isComplete)
        XCTAssertEqual(out.send.count, 1 + 1536 * 2)
        XCTAssertEqual(out.send[0], 3)
        XCTAssertEqual(Array(out.send[1..<9]), [1, 2, 3, 4, 0, 0, 0, 0], "S1: time, then zero version")
        XCTAssertEqual(Array(out.send[9..<1537]), fixedRandom(1528))
        XCTAssertEqual(Array(out.send[1537...]), c1, "S2 echoes C1")
        let s1 = Array(out.send[1..<1537])
        let done = try hs.receive(s1 + [0xAA, 0xBB])
        XCTAssertTrue(done.isComplete)
        XCTAssertEqual(done.send, [])
        XCTAssertEqual(done.remaining, [0xAA, 0xBB])
        XCTAssertEqual(try hs.receive([1, 2]).remaining, [1, 2], "after completion bytes pass through")
    }

    func testDripFedHandshake() throws {
        var hs = RTMPServerHandshake(hmac: hmac, randomBytes: fixedRandom)
        let input = [3] + digestC1(scheme: 0, seed: 9) + [UInt8](repeating: 7, count: 1536) + [0x42]
        var sent: [UInt8] = []
        var remaining: [UInt8] = []
        var completions = 0
        for b in input {
            let out = try hs.receive([b])
            sent += out.send
            remaining += out.remaining
            if out.isComplete { completions += 1 }
        }
        XCTAssertEqual(sent.count, 3073)
        XCTAssertEqual(remaining, [0x42])
        XCTAssertTrue(hs.isComplete)
        XCTAssertEqual(hs.form, .digest(scheme: 0))
    }

    func testWrongVersionIsAClearError() {
        var hs = RTMPServerHandshake(hmac: hmac)
        XCTAssertThrowsError(try hs.receive([6])) { error in
            XCTAssertEqual(error as? RTMPHandshakeError, .unsupportedVersion(6))
            XCTAssertTrue("\(error)".contains("version 6"), "\(error)")
        }
    }

    func testDigestHandshakeBothSchemes() throws {
        for scheme in [0, 1] {
            let c1 = digestC1(scheme: scheme, seed: UInt64(100 + scheme))
            let clientDigest = Array(c1[RTMPServerHandshake.digestOffset(c1, scheme: scheme)...].prefix(32))
            var hs = RTMPServerHandshake(hmac: hmac, epoch: 77)
            let out = try hs.receive([3] + c1)
            XCTAssertEqual(hs.form, .digest(scheme: scheme))
            XCTAssertEqual(out.send.count, 3073)
            let s1 = Array(out.send[1..<1537]), s2 = Array(out.send[1537...])
            XCTAssertEqual(Array(s1[0..<8]), [0, 0, 0, 77, 0x0D, 0x0E, 0x0A, 0x0D])
            // What ffmpeg's client checks (rtmpproto.c): S1 carries a digest under the server's
            // partial key, and S2's last 32 bytes are HMAC(HMAC(full server key, C1 digest), S2[..1504]).
            let found = RTMPServerHandshake.findDigest(in: s1, key: RTMPServerHandshake.serverKey, hmac: hmac)
            XCTAssertEqual(found?.0, scheme)
            let key = hmac(RTMPServerHandshake.serverFullKey, clientDigest)
            XCTAssertEqual(Array(s2[1504...]), hmac(key, Array(s2[..<1504])))
            XCTAssertNotEqual(s2, c1)
        }
    }

    func testBadDigestFallsBackToPlain() throws {
        var c1 = digestC1(scheme: 0, seed: 5)
        c1[RTMPServerHandshake.digestOffset(c1, scheme: 0)] ^= 1
        var hs = RTMPServerHandshake(hmac: hmac)
        let out = try hs.receive([3] + c1)
        XCTAssertEqual(hs.form, .plain)
        XCTAssertEqual(Array(out.send[1537...]), c1)
        XCTAssertEqual(Array(out.send[5..<9]), [0, 0, 0, 0])
    }
}
