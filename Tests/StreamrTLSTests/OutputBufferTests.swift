import NIOCore
@testable import StreamrTLS
import XCTest

/// A memory BIO never gives back what a burst made it allocate: after a large write is drained,
/// the connection's output buffer is a fresh one, and the bytes still arrive whole and in order.
final class OutputBufferTests: XCTestCase {
    private func pair() throws -> (client: TLSConnection, server: TLSConnection) {
        let pki = try TestPKI()
        let server = try TLSConnection(context: TLSContext(.server(identity: pki.serverIdentity, trustRoots: [pki.ca.certificate],
                                                                   clientCertificates: .required)))
        let client = try TLSConnection(context: TLSContext(.client(identity: pki.clientIdentity, trustRoots: [pki.ca.certificate])))
        for _ in 0..<10 {
            _ = client.handshake(); move(client, server)
            _ = server.handshake(); move(server, client)
        }
        guard case .complete = client.handshake(), case .complete = server.handshake() else {
            struct Incomplete: Error {}
            XCTFail("the in-memory handshake did not complete")
            throw Incomplete()
        }
        return (client, server)
    }

    private func move(_ from: TLSConnection, _ to: TLSConnection) {
        var out = ByteBuffer()
        from.takeNetworkOutput(into: &out)
        if out.readableBytes > 0 { to.receive(out) }
    }

    private func received(_ connection: TLSConnection) -> [UInt8] {
        var plain = ByteBuffer()
        _ = connection.readPlaintext(into: &plain)
        return Array(plain.readableBytesView)
    }

    func testABurstDoesNotStayAllocated() throws {
        let (client, server) = try pair()
        let burst = (0..<(4 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 9) }
        guard case .complete = server.writePlaintext(ByteBuffer(bytes: burst)) else { return XCTFail("write failed") }
        XCTAssertGreaterThan(server.outputBufferCapacity, 4 << 20, "the burst's ciphertext is all in the output BIO")
        move(server, client)
        XCTAssertLessThan(server.outputBufferCapacity, 64 << 10, "drained, the output BIO is a fresh one")
        XCTAssertEqual(received(client), burst)

        // The session goes on over the new BIO, both ways.
        guard case .complete = server.writePlaintext(ByteBuffer(string: "after")) else { return XCTFail("write failed") }
        move(server, client)
        XCTAssertEqual(String(decoding: received(client), as: UTF8.self), "after")
        guard case .complete = client.writePlaintext(ByteBuffer(string: "reply")) else { return XCTFail("write failed") }
        move(client, server)
        XCTAssertEqual(String(decoding: received(server), as: UTF8.self), "reply")
    }

    func testSmallWritesKeepTheirBuffer() throws {
        let (client, server) = try pair()
        for i in 0..<100 {
            guard case .complete = server.writePlaintext(ByteBuffer(string: "frame \(i)")) else { return XCTFail("write failed") }
            move(server, client)
        }
        XCTAssertEqual(String(decoding: received(client), as: UTF8.self), (0..<100).map { "frame \($0)" }.joined())
        XCTAssertLessThan(server.outputBufferCapacity, TLSConnection.outputRetainLimit)
    }
}
