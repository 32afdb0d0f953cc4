import Foundation
import StreamrDaemon
import StreamrTLS
import XCTest

final class HostPKITests: XCTestCase {
    var directory = ""

    override func setUp() { directory = NSTemporaryDirectory() + "streamr-pki-\(UUID().uuidString)" }
    override func tearDown() { try? FileManager.default.removeItem(atPath: directory) }

    func testInitializeCreatesOnceAndKeepsExistingCA() throws {
        let pki = HostPKI(directory: directory)
        XCTAssertTrue(try pki.initialize(hostnames: ["host.example"], ipAddresses: ["127.0.0.1"]))
        let pin = try pki.caPin()
        XCTAssertFalse(try pki.initialize(hostnames: ["other"], ipAddresses: []), "a second run must not replace the CA")
        XCTAssertEqual(try pki.caPin(), pin)

        for (path, mode) in [(pki.caKeyPath, 0o600), (pki.serverKeyPath, 0o600), (pki.caCertificatePath, 0o644), (pki.serverCertificatePath, 0o644)] {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, mode, path)
        }
        let identity = try pki.loadServerIdentity()
        XCTAssertEqual(identity.chain.count, 2, "server certificate then CA")
        XCTAssertTrue(identity.chain[0].isSigned(by: try pki.loadCA()))
        XCTAssertEqual(identity.chain[0].commonName, "host.example")
        XCTAssertEqual(pin, "sha256:" + SHA256Digest.hex(try pki.loadCA().publicKeySHA256))
        XCTAssertNoThrow(try TLSContext(.server(identity: identity, trustRoots: [try pki.loadCA()])))
    }

    func testMissingPKIErrorSaysHowToCreateIt() {
        XCTAssertThrowsError(try HostPKI(directory: directory).loadServerIdentity()) { error in
            XCTAssertTrue("\(error)".contains("streamr-coordinator init-pki"), "\(error)")
        }
    }
}
