import Dispatch
import NIOConcurrencyHelpers
import NIOCore
@testable import StreamrRPC
import StreamrWire
import XCTest

/// Writes reach the peer in the order they were handed to the connection, whichever thread
/// made them: a relay's join is written from a task while its source flushes on the loop.
final class WriteOrderTests: XCTestCase {
    func testAWriteOnTheLoopDoesNotOvertakeOneHandedOverBefore() async throws {
        let handler: RPCConnection.Handler = { envelope, connection in
            guard case .subscribe(let s) = envelope.body else { return nil }
            func media(_ seq: UInt64) -> ByteBuffer {
                Envelope(.media(MediaData(stream: s.stream, chunkSeq: seq, tags: [UInt8(seq)]))).framed()
            }
            // The loop is busy (a source's read in progress) when the join's first write is
            // handed over from this task; the loop then writes the next batch itself.
            let entered = DispatchSemaphore(value: 0), go = DispatchSemaphore(value: 0)
            connection.eventLoop.execute {
                entered.signal()
                go.wait()
                connection.pushFramed(media(2))
            }
            entered.wait()
            connection.pushFramed(media(1))
            go.signal()
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
                for _ in 0..<500 where received.withLockedValue({ $0.count }) < 2 { try await Task.sleep(for: .milliseconds(10)) }
            }
        }
        XCTAssertEqual(received.withLockedValue { $0 }, [1, 2], "the write handed over first arrives first")
    }
}
