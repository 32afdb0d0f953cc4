import NIOCore
import StreamrRPC
import StreamrWire
import XCTest

/// Bad input gets a clear error and that connection is closed; the server serves everyone else.
final class ProtocolErrorTests: XCTestCase {
    func testGarbageGetsAnErrorFrameThenClose() async throws {
        try await withServer(handler: identityEcho) { address in
            guard case .tcp(_, let port) = address else { return XCTFail() }
            try await RPCClient.withConnection(to: address, pipeline: RPCPipeline()) { healthy in
                let answer = try rawExchange(port: port, send: [0x05, 0x0f, 0xff, 0xff, 0xff, 0xff])
                let replies = try frames(in: answer)
                XCTAssertEqual(replies.count, 1)
                guard case .error(let error) = replies.first?.body else { return XCTFail("\(replies)") }
                XCTAssertEqual(error.code, .malformed)
                XCTAssertTrue(error.message.contains("undecodable"), error.message)
                // The other connection is unaffected.
                _ = try await healthy.request(.statusRequest)
            }
        }
    }

    func testOversizedFrameIsRefusedWithoutReadingIt() async throws {
        try await withServer(pipeline: RPCPipeline(maxFrameBytes: 4096), handler: identityEcho) { address in
            guard case .tcp(_, let port) = address else { return XCTFail() }
            // Claims 1 GiB and sends nothing more: the answer must come from the prefix alone.
            let answer = try rawExchange(port: port, send: [0x80, 0x80, 0x80, 0x80, 0x04])
            guard case .error(let error) = try frames(in: answer).first?.body else { return XCTFail() }
            XCTAssertEqual(error.code, .tooLarge)
            XCTAssertTrue(error.message.contains("1073741824"), error.message)
            try await RPCClient.withConnection(to: address, pipeline: RPCPipeline()) { healthy in
                _ = try await healthy.request(.statusRequest)
            }
        }
    }

    func testBodyTheServerDoesNotServeIsAnsweredUnsupported() async throws {
        try await withServer(handler: { envelope, _ in
            if case .statusRequest = envelope.body { return .status(Status(software: "t", role: .ctl, uptimeSeconds: 0)) }
            throw ErrorMessage(.unsupported, "\(envelope.body.name) not served")
        }) { address in
            try await RPCClient.withConnection(to: address, pipeline: RPCPipeline()) { connection in
                do {
                    _ = try await connection.request(.heartbeat(Heartbeat(seq: 1, sentUnixMs: 0)))
                    XCTFail()
                } catch let error as ErrorMessage {
                    XCTAssertEqual(error.code, .unsupported)
                }
            }
        }
    }
}
