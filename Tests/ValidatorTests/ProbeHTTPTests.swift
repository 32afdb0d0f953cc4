import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import StreamrTLS
import StreamrWire
import Validation
@testable import Validator
import XCTest

/// A loopback TCP server that records each request's bytes and answers with a script.
final class ScriptedServer: @unchecked Sendable {
    enum Step: Sendable { case send([UInt8]), wait(Int), close, hold }
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    var channel: (any Channel)!
    let requests = NIOLockedValueBox<[[UInt8]]>([])
    let script: @Sendable ([UInt8]) -> [Step]

    init(script: @escaping @Sendable ([UInt8]) -> [Step]) throws {
        self.script = script
        let recorder = requests
        channel = try ServerBootstrap(group: group)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture { try child.pipeline.syncOperations.addHandler(Handler(script: script, recorder: recorder)) }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
    }

    var port: Int { channel.localAddress!.port! }
    func shutdown() { try? channel.close().wait(); try? group.syncShutdownGracefully() }

    final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        let script: @Sendable ([UInt8]) -> [Step]
        let recorder: NIOLockedValueBox<[[UInt8]]>
        var buffer: [UInt8] = []
        var answered = false
        init(script: @escaping @Sendable ([UInt8]) -> [Step], recorder: NIOLockedValueBox<[[UInt8]]>) { self.script = script; self.recorder = recorder }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var b = unwrapInboundIn(data)
            buffer += b.readBytes(length: b.readableBytes) ?? []
            guard !answered, let end = buffer.indices.dropFirst(3).first(where: { Array(buffer[($0 - 3)...$0]) == [13, 10, 13, 10] }) else { return }
            answered = true
            let request = Array(buffer[...end])
            recorder.withLockedValue { $0.append(request) }
            run(script(request)[...], channel: context.channel)
        }

        func run(_ steps: ArraySlice<Step>, channel: any Channel) {
            guard let step = steps.first else { return }
            let rest = steps.dropFirst()
            switch step {
            case .send(let bytes):
                channel.writeAndFlush(ByteBuffer(bytes: bytes)).whenComplete { _ in self.run(rest, channel: channel) }
            case .wait(let ms):
                channel.eventLoop.scheduleTask(in: .milliseconds(Int64(ms))) { self.run(rest, channel: channel) }
            case .close:
                channel.close(promise: nil)
            case .hold:
                break
            }
        }
    }
}

final class ProbeHTTPTests: XCTestCase {
    func request(_ port: Int, path: String = "/chunks/main/abc-5", headers: [HTTPHeader]? = nil, firstByteMs: Int = 2000,
                 totalMs: Int = 4000, watchMs: Int? = nil, digest: Bool = false, limit: Int = 1 << 20) -> ProbeRequest {
        ProbeRequest(host: "127.0.0.1", port: port, path: path,
                     headers: headers ?? [HTTPHeader("User-Agent", "Lavf/59.27.100"), HTTPHeader("Accept", "*/*"),
                                          HTTPHeader("Range", "bytes=100-"), HTTPHeader("Connection", "close"),
                                          HTTPHeader("Host", "127.0.0.1:\(port)"), HTTPHeader("Icy-MetaData", "1")],
                     connectMs: 1000, firstByteMs: firstByteMs, totalMs: totalMs, watchMs: watchMs, digest: digest, readLimit: { _ in limit })
    }

    func testTheRequestIsExactlyThePlayersAndTheResponseIsObserved() async throws {
        let body = (0..<5000).map { UInt8(truncatingIfNeeded: $0) }
        let server = try ScriptedServer { _ in
            [.send(Array("HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 100-5099/9000\r\nContent-Length: 5000\r\n\r\n".utf8)),
             .send(Array(body.prefix(10))), .wait(30), .send(Array(body.dropFirst(10))), .hold]
        }
        defer { server.shutdown() }
        let o = await ProbeHTTP.fetch(request(server.port, digest: true))
        XCTAssertNil(o.error)
        XCTAssertEqual(o.status, 206)
        XCTAssertEqual(o.headers.value(of: "content-range"), "bytes 100-5099/9000")
        XCTAssertEqual(o.body, body)
        XCTAssertEqual(o.bodyBytes, 5000)
        XCTAssertEqual(o.bodyDigest, SHA256Digest.hash(body))
        XCTAssertNotNil(o.ttfbMs)
        XCTAssertGreaterThanOrEqual(o.totalMs - (o.ttfbMs ?? 0), 25, "the body came over 30 ms")
        XCTAssertNotNil(o.startedAtMs)
        let sent = String(decoding: server.requests.withLockedValue { $0 }.first ?? [], as: UTF8.self)
        XCTAssertEqual(sent, "GET /chunks/main/abc-5 HTTP/1.1\r\nUser-Agent: Lavf/59.27.100\r\nAccept: */*\r\nRange: bytes=100-\r\n"
                           + "Connection: close\r\nHost: 127.0.0.1:\(server.port)\r\nIcy-MetaData: 1\r\n\r\n",
                       "header for header, in the player's order, nothing added")
    }

    func testReadingStopsAtTheLimitLikeASeekingPlayer() async throws {
        let server = try ScriptedServer { _ in
            [.send(Array("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n".utf8)), .send([UInt8](repeating: 7, count: 4000)), .hold]
        }
        defer { server.shutdown() }
        let o = await ProbeHTTP.fetch(request(server.port, limit: 1000))
        XCTAssertNil(o.error, "stopping after what it needed is not an error")
        XCTAssertEqual(o.body.count, 1000)
        XCTAssertGreaterThan(o.bodyBytes, 1000)
        XCTAssertEqual(CheckEngine.bytesSent(o), 100_000, "the node was asked for, and counts, the whole body it declared")
    }

    func testChunkedBodiesAndLiveWatchesEndOnTime() async throws {
        let server = try ScriptedServer { _ in
            var steps: [ScriptedServer.Step] = [.send(Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".utf8))]
            for _ in 0..<40 { steps += [.send(Array("3e8\r\n".utf8) + [UInt8](repeating: 1, count: 1000) + Array("\r\n".utf8)), .wait(50)] }
            return steps + [.hold]
        }
        defer { server.shutdown() }
        let o = await ProbeHTTP.fetch(request(server.port, path: "/live/main.flv", totalMs: 5000, watchMs: 600))
        XCTAssertNil(o.error, "a watch that runs its length ends without error")
        XCTAssertEqual(o.status, 200)
        XCTAssertGreaterThan(o.bodyBytes, 5000)
        XCTAssertLessThan(o.bodyBytes, 30_000)
        XCTAssertGreaterThanOrEqual(o.totalMs, 550)
        XCTAssertLessThan(o.totalMs, 3000)
    }

    func testEveryWaitIsBounded() async throws {
        let silent = try ScriptedServer { _ in [.hold] }
        defer { silent.shutdown() }
        var o = await ProbeHTTP.fetch(request(silent.port, firstByteMs: 300, totalMs: 2000))
        XCTAssertEqual(o.error, .firstByteTimeout)
        XCTAssertLessThan(o.totalMs, 1500)

        let slow = try ScriptedServer { _ in
            [.send(Array("HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n".utf8)), .send([1, 2, 3]), .hold]
        }
        defer { slow.shutdown() }
        o = await ProbeHTTP.fetch(request(slow.port, firstByteMs: 1000, totalMs: 500))
        XCTAssertEqual(o.error, .bodyTimeout)
        XCTAssertEqual(o.body, [1, 2, 3])

        let cut = try ScriptedServer { _ in
            [.send(Array("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n".utf8)), .send([1, 2, 3]), .close]
        }
        defer { cut.shutdown() }
        o = await ProbeHTTP.fetch(request(cut.port))
        XCTAssertEqual(o.error, .reset, "a body cut short")
        XCTAssertEqual(o.bodyBytes, 3)

        let garbage = try ScriptedServer { _ in [.send(Array("SSH-2.0-OpenSSH\r\n\r\n".utf8)), .close] }
        defer { garbage.shutdown() }
        o = await ProbeHTTP.fetch(request(garbage.port))
        XCTAssertEqual(o.error, .badResponse)
    }

    func testARefusedConnection() async throws {
        let server = try ScriptedServer { _ in [] }
        let port = server.port
        server.shutdown()
        let o = await ProbeHTTP.fetch(request(port))
        XCTAssertEqual(o.error, .refused)
        XCTAssertNil(o.status)
    }

    func testRedirectLocations() {
        XCTAssertEqual(CheckEngine.parseLocation("http://203.0.113.5:8935/live/main.flv").map { "\($0.host) \($0.port) \($0.path)" },
                       "203.0.113.5 8935 /live/main.flv")
        XCTAssertEqual(CheckEngine.parseLocation("http://[2001:db8::1]:8935/live/main/index.m3u8").map { "\($0.host) \($0.port) \($0.path)" },
                       "2001:db8::1 8935 /live/main/index.m3u8")
        XCTAssertEqual(CheckEngine.parseLocation("http://node.example/x").map { "\($0.host) \($0.port)" }, "node.example 80")
        XCTAssertNil(CheckEngine.parseLocation("https://node.example/x"), "a player follows it, but it is not the node's viewer HTTP")
        XCTAssertNil(CheckEngine.parseLocation("http://host:port/x"))
    }

    func testTargetsFromTheCoordinator() {
        let answer = AdminResponse(columns: ["node_id", "address", "viewer_port", "streams"],
                                   rows: [["node-0123456789ab", "203.0.113.5", "8935", "main:45,alt:0"], ["node-bad", "x", "0", "main:1"]])
        let targets = CoordinatorClient.parse(answer)
        XCTAssertEqual(targets.count, 1, "a row with no valid port is skipped")
        XCTAssertEqual(targets.first?.host, "203.0.113.5")
        XCTAssertEqual(targets.first?.relayed, [NodeTarget.Relayed(stream: "main", holdsFromSeq: 45), NodeTarget.Relayed(stream: "alt", holdsFromSeq: nil)])
    }
}
