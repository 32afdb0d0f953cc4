import NIOConcurrencyHelpers
import NIOCore
import StreamrRPC
import StreamrTLS
import StreamrWire
import XCTest

final class RPCTests: XCTestCase {
    func testConcurrentRequestsEachGetTheirOwnAnswer() async throws {
        try await withServer(handler: identityEcho) { address in
            try await RPCClient.withConnection(to: address, pipeline: RPCPipeline()) { connection in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for i in 0..<200 {
                        group.addTask {
                            let answer = try await connection.request(.hello(Hello(software: "c\(i)", role: .node)))
                            XCTAssertEqual(answer, .hello(Hello(software: "echo:c\(i)", role: .coordinator)))
                        }
                    }
                    try await group.waitForAll()
                }
            }
        }
    }

    func testAnswersOutOfOrderReachTheRightCaller() async throws {
        // The server holds every request until it has three, then answers them in reverse.
        let held = NIOLockedValueBox<[Envelope]>([])
        let handler: RPCConnection.Handler = { envelope, connection in
            let batch: [Envelope]? = held.withLockedValue { held in
                held.append(envelope)
                guard held.count == 3 else { return nil }
                defer { held.removeAll() }
                return held
            }
            for request in (batch ?? []).reversed() {
                guard case .subscribe(let s) = request.body else { continue }
                try await connection.reply(to: request, .subscribeAck(SubscribeAck(stream: s.stream, firstChunk: 1, resumed: false)))
            }
            return nil
        }
        try await withServer(handler: handler) { address in
            try await RPCClient.withConnection(to: address, pipeline: RPCPipeline()) { connection in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for name in ["a", "b", "c"] {
                        group.addTask {
                            let answer = try await connection.request(.subscribe(Subscribe(stream: name)))
                            XCTAssertEqual(answer, .subscribeAck(SubscribeAck(stream: name, firstChunk: 1, resumed: false)))
                        }
                    }
                    try await group.waitForAll()
                }
            }
        }
    }

    func testServerPushesOnTheSameConnection() async throws {
        // Subscribe, then the server pushes five media frames before answering.
        let handler: RPCConnection.Handler = { envelope, connection in
            guard case .subscribe(let s) = envelope.body else { return nil }
            for seq in 1...5 { try await connection.push(.media(MediaData(stream: s.stream, chunkSeq: UInt64(seq), tags: [UInt8(seq)]))) }
            return .subscribeAck(SubscribeAck(stream: s.stream, firstChunk: 1, resumed: false))
        }
        let received = NIOLockedValueBox<[UInt64]>([])
        let clientHandler: RPCConnection.Handler = { envelope, _ in
            if case .media(let m) = envelope.body { received.withLockedValue { $0.append(m.chunkSeq) } }
            return nil
        }
        try await withServer(handler: handler) { address in
            try await RPCClient.withConnection(to: address, pipeline: RPCPipeline(), handler: clientHandler) { connection in
                _ = try await connection.request(.subscribe(Subscribe(stream: "main")))
            }
        }
        XCTAssertEqual(received.withLockedValue { $0 }, [1, 2, 3, 4, 5], "pushes arrive before the answer, in order")
    }

    func testErrorAnswerIsThrown() async throws {
        let handler: RPCConnection.Handler = { envelope, _ in
            if case .subscribe = envelope.body { throw ErrorMessage(.notFound, "no such stream") }
            return .hello(Hello(software: "s", role: .coordinator))
        }
        try await withServer(handler: handler) { address in
            try await RPCClient.withConnection(to: address, pipeline: RPCPipeline()) { connection in
                do {
                    _ = try await connection.request(.subscribe(Subscribe(stream: "x")))
                    XCTFail("expected an error")
                } catch let error as ErrorMessage {
                    XCTAssertEqual(error, ErrorMessage(.notFound, "no such stream"))
                }
                // The connection stays usable after an error answer.
                _ = try await connection.request(.hello(Hello(software: "t", role: .ctl)))
            }
        }
    }

    func testRequestTimesOut() async throws {
        try await withServer(handler: { _, _ in nil }) { address in
            try await RPCClient.withConnection(to: address, pipeline: RPCPipeline()) { connection in
                do {
                    _ = try await connection.request(.statusRequest, timeout: .milliseconds(200))
                    XCTFail("expected a timeout")
                } catch let error as RPCError {
                    XCTAssertEqual(error, .timedOut(.milliseconds(200)))
                }
            }
        }
    }

    func testPendingRequestsFailWhenTheConnectionCloses() async throws {
        let handler: RPCConnection.Handler = { envelope, _ in
            if case .statusRequest = envelope.body { throw CloseConnection(ErrorMessage(.failedPrecondition, "node disabled")) }
            return nil
        }
        try await withServer(handler: handler) { address in
            try await RPCClient.withConnection(to: address, pipeline: RPCPipeline()) { connection in
                async let slow = connection.request(.subscribe(Subscribe(stream: "never answered")), timeout: .seconds(20))
                do {
                    _ = try await connection.request(.statusRequest)
                    XCTFail("expected the close reason")
                } catch let error as ErrorMessage {
                    XCTAssertEqual(error.code, .failedPrecondition)
                }
                do {
                    _ = try await slow
                    XCTFail("expected connectionClosed")
                } catch let error as RPCError {
                    XCTAssertEqual(error, .connectionClosed)
                }
            }
        }
    }
}
