import CoordinatorCore
import XCTest

final class SecretsTests: XCTestCase {
    func testSHA256KnownVectors() {
        XCTAssertEqual(SHA256.hex(of: ""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(of: "abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex(of: "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        // Crosses the 55/56/64-byte padding boundaries.
        XCTAssertEqual(SHA256.hex(of: String(repeating: "a", count: 1000)),
                       "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }

    func testHexRoundTrip() {
        let bytes: [UInt8] = [0, 1, 0xab, 0xff]
        XCTAssertEqual(Hex.encode(bytes), "0001abff")
        XCTAssertEqual(Hex.decode("0001ABff"), bytes)
        XCTAssertNil(Hex.decode("abc"))
        XCTAssertNil(Hex.decode("zz"))
    }

    func testBase64URL() {
        XCTAssertEqual(Base64URL.encode([]), "")
        XCTAssertEqual(Base64URL.encode(Array("f".utf8)), "Zg")
        XCTAssertEqual(Base64URL.encode(Array("fo".utf8)), "Zm8")
        XCTAssertEqual(Base64URL.encode(Array("foo".utf8)), "Zm9v")
        XCTAssertEqual(Base64URL.encode([0xfb, 0xff]), "-_8")
        XCTAssertTrue(Base64URL.isEncoded("Zm9v-_"))
        XCTAssertFalse(Base64URL.isEncoded("a+b"))
        XCTAssertFalse(Base64URL.isEncoded(""))
    }

    func testSecretsAreRandomURLSafeAndHashed() {
        let a = Secret.generate(), b = Secret.generate()
        XCTAssertNotEqual(a, b)
        XCTAssertEqual(a.text.count, 43) // 32 bytes, no padding
        XCTAssertTrue(Base64URL.isEncoded(a.text))
        XCTAssertEqual(a.hash, SHA256.hex(of: a.text))
        XCTAssertEqual(a.hash.count, 64)
    }

    func testNodeIDs() {
        let id = NodeID.generate()
        XCTAssertTrue(NodeID.isValid(id), id)
        XCTAssertNotEqual(id, NodeID.generate())
        XCTAssertFalse(NodeID.isValid("node-xyz"))
        XCTAssertFalse(NodeID.isValid("node-ABCDEF012345"))
    }
}
