import CoordinatorCore
import XCTest

final class SecretsTests: XCTestCase {
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
    }

    func testNodeIDs() {
        let id = NodeID.generate()
        XCTAssertTrue(NodeID.isValid(id), id)
        XCTAssertNotEqual(id, NodeID.generate())
        XCTAssertFalse(NodeID.isValid("node-xyz"))
        XCTAssertFalse(NodeID.isValid("node-ABCDEF012345"))
    }
}
