import Foundation
import StreamrTLS
import XCTest

/// The CA, certificates, requests and keys, cross-checked with the openssl command-line tool.
final class CertificateAuthorityTests: XCTestCase {
    private var pki: TestPKI!

    override func setUpWithError() throws {
        signal(SIGPIPE, SIG_IGN)
        pki = try TestPKI()
    }

    override func tearDown() { pki = nil }

    private func openssl(_ arguments: String) throws -> String {
        let result = try shell("openssl \(arguments) 2>&1", in: pki.directory)
        XCTAssertEqual(result.status, 0, "openssl \(arguments): \(result.output)")
        return result.output
    }

    func testCACertificateIsSelfSignedWithCATrue() throws {
        let text = try openssl("x509 -in ca.pem -noout -text")
        XCTAssertTrue(text.contains("CA:TRUE"), text)
        XCTAssertTrue(text.contains("Certificate Sign"), text)
        XCTAssertTrue(text.contains("Test host CA"), text)
        let names = try openssl("x509 -in ca.pem -noout -subject -issuer -nameopt RFC2253").split(separator: "\n")
        XCTAssertEqual(names.count, 2)
        XCTAssertEqual(names[0].dropFirst("subject=".count), names[1].dropFirst("issuer=".count), "not self-issued")
        XCTAssertTrue(try openssl("verify -CAfile ca.pem ca.pem").contains("ca.pem: OK"))
        XCTAssertTrue(pki.ca.certificate.isSigned(by: pki.ca.certificate))
        XCTAssertEqual(pki.ca.certificate.commonName, "Test host CA")
    }

    func testServerCertificateChainsToCAWithSANs() throws {
        XCTAssertTrue(try openssl("verify -purpose sslserver -CAfile ca.pem server.pem").contains("server.pem: OK"))
        let text = try openssl("x509 -in server.pem -noout -text")
        for expected in ["DNS:\(TestPKI.serverName)", "DNS:localhost", "IP Address:127.0.0.1", "IP Address:0:0:0:0:0:0:0:1",
                         "TLS Web Server Authentication", "CA:FALSE"] {
            XCTAssertTrue(text.contains(expected), "missing \(expected) in\n\(text)")
        }
        XCTAssertEqual(pki.serverCertificate.commonName, TestPKI.serverName)
        XCTAssertTrue(pki.serverCertificate.isSigned(by: pki.ca.certificate))
        XCTAssertFalse(pki.serverCertificate.isSigned(by: try CertificateAuthority.create().certificate))
    }

    func testCertificateFromAnotherCAFailsOpenSSLVerify() throws {
        let other = try CertificateAuthority.create(commonName: "Other CA")
        try pki.write("other-ca.pem", other.certificate.pemString())
        let result = try shell("openssl verify -CAfile other-ca.pem server.pem 2>&1", in: pki.directory)
        XCTAssertNotEqual(result.status, 0, result.output)
        XCTAssertFalse(result.output.contains("server.pem: OK"), result.output)
    }

    func testClientCertificateTakesNodeIDAndRequestKey() throws {
        XCTAssertEqual(pki.clientCertificate.commonName, TestPKI.nodeID)
        let subject = try openssl("x509 -in client.pem -noout -subject")
        XCTAssertTrue(subject.contains("CN = \(TestPKI.nodeID)"), subject)
        XCTAssertFalse(subject.contains("requested-name"), subject)
        let text = try openssl("x509 -in client.pem -noout -text")
        // A node serves its child nodes too: client and server authentication.
        XCTAssertTrue(text.contains("TLS Web Client Authentication"), text)
        XCTAssertTrue(text.contains("TLS Web Server Authentication"), text)
        XCTAssertTrue(text.contains("CA:FALSE"), text)
        XCTAssertTrue(try openssl("verify -purpose sslclient -CAfile ca.pem client.pem").contains("client.pem: OK"))
        XCTAssertTrue(try openssl("verify -purpose sslserver -CAfile ca.pem client.pem").contains("client.pem: OK"))
        // The certificate carries the requester's key, not one the CA made up.
        XCTAssertEqual(pki.clientCertificate.publicKeySHA256, SHA256Digest.hash(try pki.clientKey.publicKeyDER()))
        XCTAssertTrue(pki.clientCertificate.isSigned(by: pki.ca.certificate))
    }

    func testSigningRequestDERRoundTripAndTamperingIsRejected() throws {
        let key = try PrivateKey.generate()
        let request = try CertificateSigningRequest(key: key, commonName: "joining-node")
        let der = request.derBytes()
        XCTAssertFalse(der.isEmpty)
        let parsed = try CertificateSigningRequest(der: der)
        XCTAssertEqual(parsed.derBytes(), der)
        let issued = try pki.ca.issueClientCertificate(for: parsed, nodeID: "node-1")
        XCTAssertEqual(issued.publicKeySHA256, SHA256Digest.hash(try key.publicKeyDER()))

        // The signature is the last field: flipping its final byte keeps the DER valid but breaks it.
        var badSignature = der
        badSignature[badSignature.count - 1] ^= 0x01
        XCTAssertThrowsError(try CertificateSigningRequest(der: badSignature)) { error in
            XCTAssertEqual((error as? TLSError)?.kind, .certificate, "\(error)")
        }
        // Changing the requested name (signed content) must break it too.
        let name = Array("joining-node".utf8)
        let at = try XCTUnwrap(firstIndex(of: name, in: der))
        var badSubject = der
        badSubject[at] = UInt8(ascii: "J")
        XCTAssertThrowsError(try CertificateSigningRequest(der: badSubject))
        XCTAssertThrowsError(try CertificateSigningRequest(der: [0x30, 0x03, 0x02, 0x01, 0x00]))
    }

    func testPublicKeySHA256MatchesOpenSSL() throws {
        for (file, certificate) in [("ca.pem", pki.ca.certificate), ("server.pem", pki.serverCertificate)] {
            let output = try openssl("x509 -in \(file) -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum")
            let expected = String(output.prefix(64))
            XCTAssertEqual(SHA256Digest.hex(certificate.publicKeySHA256), expected)
            XCTAssertEqual(SHA256Digest.parseHex(expected), certificate.publicKeySHA256)
        }
        XCTAssertNotEqual(pki.ca.certificate.publicKeySHA256, pki.serverCertificate.publicKeySHA256)
    }

    func testPrivateKeyPEMRoundTrip() throws {
        let pem = try pki.serverKey.pemString()
        XCTAssertTrue(pem.hasPrefix("-----BEGIN PRIVATE KEY-----"), pem)
        let reread = try PrivateKey(pem: pem)
        XCTAssertEqual(try reread.pemString(), pem)
        XCTAssertEqual(try reread.publicKeyDER(), try pki.serverKey.publicKeyDER())
        XCTAssertNotEqual(try PrivateKey.generate().publicKeyDER(), try pki.serverKey.publicKeyDER())
        // openssl agrees it is a valid P-256 key, and the re-read key still matches the certificate.
        XCTAssertTrue(try openssl("pkey -in server.key -noout -text").contains("prime256v1"))
        _ = try TLSContext(.server(identity: TLSIdentity(chain: [pki.serverCertificate], key: reread), clientCertificates: .none))
        XCTAssertThrowsError(try TLSContext(.server(identity: TLSIdentity(chain: [pki.serverCertificate], key: pki.clientKey),
                                                    clientCertificates: .none)))
        XCTAssertThrowsError(try PrivateKey(pem: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")) { error in
            XCTAssertEqual((error as? TLSError)?.kind, .key)
        }
    }

    func testCertificatePEMAndDERRoundTrip() throws {
        let cert = pki.serverCertificate
        XCTAssertEqual(try Certificate(pem: cert.pemString()), cert)
        XCTAssertEqual(try Certificate(der: cert.derBytes()), cert)
        XCTAssertEqual(try Certificate(der: cert.derBytes()).derBytes(), cert.derBytes())
        XCTAssertNotEqual(cert, pki.ca.certificate)
        let bundle = try Certificate.all(pem: cert.pemString() + pki.ca.certificate.pemString())
        XCTAssertEqual(bundle, [cert, pki.ca.certificate])
        XCTAssertThrowsError(try Certificate.all(pem: "no certificates here"))
        XCTAssertThrowsError(try Certificate(pem: "garbage"))
        XCTAssertThrowsError(try Certificate(der: [1, 2, 3]))
    }

    func testSHA256Hex() {
        let digest = SHA256Digest.hash(Array("abc".utf8))
        XCTAssertEqual(SHA256Digest.hex(digest), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256Digest.parseHex("BA7816bf"), [0xba, 0x78, 0x16, 0xbf])
        XCTAssertEqual(SHA256Digest.parseHex(""), [])
        XCTAssertNil(SHA256Digest.parseHex("abc"))
        XCTAssertNil(SHA256Digest.parseHex("zz"))
    }

    private func firstIndex(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard needle.count <= haystack.count else { return nil }
        return (0...(haystack.count - needle.count)).first { Array(haystack[$0..<($0 + needle.count)]) == needle }
    }
}
