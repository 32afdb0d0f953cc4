import RTMP
import XCTest

/// Drives the server the way OBS/ffmpeg do, reading its replies with a client-side decoder.
final class SessionTests: XCTestCase {
    typealias Action = RTMPServerSession.Action

    private struct Client {
        var connection = RTMPServerConnection(hmac: hmac)
        var reader = RTMPChunkDecoder()
        var outChunkSize = 128

        /// Plain handshake; returns nothing the test needs.
        mutating func handshake() {
            var c1 = [UInt8](repeating: 0, count: 1536)
            c1[0] = 1
            let actions = connection.receive([3] + c1)
            guard case .send(let s)? = actions.first, s.count == 3073 else { return XCTFail("no S0S1S2: \(actions)") }
            XCTAssertEqual(connection.receive(Array(s[1..<1537])), [])
        }

        mutating func command(_ name: String, _ tx: Double, _ values: [AMF0Value], streamID: UInt32 = 0) -> [Action] {
            let m = RTMPCommand.message(name, transactionID: tx, values, streamID: streamID)
            return connection.receive(RTMPChunkEncoder.encode(m, chunkSize: outChunkSize))
        }

        mutating func send(_ m: RTMPMessage) -> [Action] {
            connection.receive(RTMPChunkEncoder.encode(m, chunkSize: outChunkSize))
        }

        /// The messages in the `.send` actions, decoded as the client would; other actions kept.
        mutating func read(_ actions: [Action]) throws -> (messages: [RTMPMessage], others: [Action]) {
            var messages: [RTMPMessage] = [], others: [Action] = []
            for a in actions {
                if case .send(let bytes) = a { messages += try decodeAll(bytes, decoder: &reader) } else { others.append(a) }
            }
            return (messages, others)
        }
    }

    private func amf(_ m: RTMPMessage) throws -> [AMF0Value] { try AMF0Decoder.decodeAll(m.payload) }

    private func connect(_ client: inout Client) throws {
        client.handshake()
        let (replies, others) = try client.read(client.command("connect", 1, [.object([
            "app": .string("live"), "type": .string("nonprivate"), "flashVer": .string("FMLE/3.0 (compatible; FMSc/1.0)"),
            "tcUrl": .string("rtmp://127.0.0.1:1935/live"),
        ])]))
        XCTAssertEqual(others, [])
        XCTAssertEqual(replies.map(\.typeID), [5, 6, 1, 20])
        XCTAssertEqual(replies[0].payload, [0x00, 0x4C, 0x4B, 0x40])
        XCTAssertEqual(replies[1].payload, [0x00, 0x4C, 0x4B, 0x40, 0x02])
        XCTAssertEqual(replies[2].payload, [0x00, 0x00, 0x10, 0x00])
        XCTAssertEqual(client.reader.chunkSize, 4096)
        XCTAssertEqual(try amf(replies[3]), [
            .string("_result"), .number(1),
            .object(["fmsVer": .string("FMS/3,0,1,123"), "capabilities": .number(31), "mode": .number(1)]),
            .object(["level": .string("status"), "code": .string("NetConnection.Connect.Success"),
                     "description": .string("Connection succeeded."), "objectEncoding": .number(0)]),
        ])
        XCTAssertEqual(client.connection.session.app, "live")
        XCTAssertEqual(client.connection.session.tcUrl, "rtmp://127.0.0.1:1935/live")
        XCTAssertEqual(client.connection.session.outgoingChunkSize, 4096)
    }

    func testPublishScriptAsOBSSendsIt() throws {
        var client = Client()
        try connect(&client)

        var r = try client.read(client.command("releaseStream", 2, [.null, .string("secret-key")]))
        XCTAssertEqual(try r.messages.map(amf), [[.string("_result"), .number(2), .null, .undefined]])

        r = try client.read(client.command("FCPublish", 3, [.null, .string("secret-key")]))
        XCTAssertEqual(try r.messages.map(amf), [
            [.string("onFCPublish"), .number(0), .null, .object(["code": .string("NetStream.Publish.Start"), "description": .string("secret-key")])],
            [.string("_result"), .number(3), .null, .undefined],
        ])

        r = try client.read(client.command("createStream", 4, [.null]))
        XCTAssertEqual(try r.messages.map(amf), [[.string("_result"), .number(4), .null, .number(1)]])

        r = try client.read(client.command("publish", 5, [.null, .string("secret-key"), .string("live")], streamID: 1))
        XCTAssertEqual(r.messages, [])
        XCTAssertEqual(r.others, [.publishRequested(app: "live", key: "secret-key")])
        XCTAssertEqual(client.connection.session.state, .publishPending)

        // Media before the decision is dropped: OBS waits for Publish.Start anyway.
        let early = RTMPMessage(typeID: 9, streamID: 1, timestamp: 0, chunkStreamID: 7, payload: [0x17, 0])
        XCTAssertEqual(client.send(early), [])

        r = try client.read(client.connection.session.acceptPublish())
        XCTAssertEqual(r.messages.count, 1)
        XCTAssertEqual(r.messages[0].streamID, 1)
        XCTAssertEqual(r.messages[0].chunkStreamID, 5)
        XCTAssertEqual(try amf(r.messages[0]), [.string("onStatus"), .number(0), .null, .object([
            "level": .string("status"), "code": .string("NetStream.Publish.Start"),
            "description": .string("secret-key is now published."), "details": .string("secret-key"),
        ])])
        XCTAssertEqual(client.connection.session.acceptPublish(), [], "a second accept does nothing")

        // @setDataFrame is stripped: what remains is onMetaData + the array, byte for byte.
        let meta = AMF0Encoder.encode([.string("onMetaData"), .ecmaArray(["width": .number(1280), "encoder": .string("obs-output module")])])
        let setDataFrame = RTMPMessage(typeID: 18, streamID: 1, timestamp: 0, chunkStreamID: 4,
                                       payload: AMF0Encoder.encode([.string("@setDataFrame")]) + meta)
        var expected = setDataFrame
        expected.payload = meta
        XCTAssertEqual(client.send(setDataFrame), [.media(expected)])

        let video = RTMPMessage(typeID: 9, streamID: 1, timestamp: 0, chunkStreamID: 7, payload: [0x17, 0, 0, 0, 0] + [UInt8](repeating: 1, count: 9000))
        let audio = RTMPMessage(typeID: 8, streamID: 1, timestamp: 23, chunkStreamID: 6, payload: [0xAF, 1, 2, 3])
        XCTAssertEqual(client.send(video), [.media(video)])
        XCTAssertEqual(client.send(audio), [.media(audio)])
        let clear = RTMPMessage(typeID: 18, streamID: 1, chunkStreamID: 4, payload: AMF0Encoder.encode([.string("@clearDataFrame")]))
        XCTAssertEqual(client.send(clear), [])

        r = try client.read(client.command("FCUnpublish", 6, [.null, .string("secret-key")]))
        XCTAssertEqual(try r.messages.map(amf), [[.string("_result"), .number(6), .null, .undefined]])
        XCTAssertEqual(r.others, [.unpublished])
        XCTAssertEqual(client.command("deleteStream", 7, [.null, .number(1)]), [], "already unpublished")
        XCTAssertEqual(client.send(audio), [], "no media after unpublish")
    }

    func testFFmpegStyleDeleteStreamUnpublishesAndAMF3CommandsAreRead() throws {
        var client = Client()
        try connect(&client)
        _ = client.command("createStream", 2, [.null])
        // Type 17 with the leading 0 byte, as some Flash clients send commands.
        let publish = RTMPCommand.message("publish", transactionID: 0, [.null, .string("k"), .string("live")], streamID: 1)
        let amf3 = RTMPMessage(typeID: 17, streamID: 1, chunkStreamID: 8, payload: [0] + publish.payload)
        XCTAssertEqual(client.send(amf3), [.publishRequested(app: "live", key: "k")])
        _ = client.connection.session.acceptPublish()
        XCTAssertEqual(client.command("deleteStream", 0, [.null, .number(1)]), [.unpublished])
    }

    func testRejectedPublish() throws {
        var client = Client()
        try connect(&client)
        _ = client.command("createStream", 2, [.null])
        XCTAssertEqual(client.command("publish", 3, [.null, .string("wrong"), .string("live")], streamID: 1),
                       [.publishRequested(app: "live", key: "wrong")])
        let r = try client.read(client.connection.session.rejectPublish(reason: "unknown stream key"))
        XCTAssertEqual(r.others, [.close(reason: "unknown stream key")])
        XCTAssertEqual(try r.messages.map(amf), [[.string("onStatus"), .number(0), .null, .object([
            "level": .string("error"), "code": .string("NetStream.Publish.BadName"),
            "description": .string("unknown stream key"), "details": .string("wrong"),
        ])]])
        XCTAssertEqual(client.connection.session.state, .closed)
        XCTAssertEqual(client.command("createStream", 4, [.null]), [])
    }

    func testEmptyKeyIsRejectedWithoutAsking() throws {
        var client = Client()
        try connect(&client)
        let r = try client.read(client.command("publish", 3, [.null, .string(""), .string("live")], streamID: 1))
        XCTAssertEqual(r.others, [.close(reason: "empty stream key")])
        XCTAssertEqual(r.messages.count, 1)
    }

    func testPlayScriptAsFFmpegSendsIt() throws {
        var client = Client()
        try connect(&client)
        var r = try client.read(client.command("createStream", 2, [.null]))
        XCTAssertEqual(try r.messages.map(amf), [[.string("_result"), .number(2), .null, .number(1)]])
        r = try client.read(client.command("getStreamLength", 3, [.null, .string("main")]))
        XCTAssertEqual(try r.messages.map(amf), [[.string("_result"), .number(3), .null, .number(0)]])
        r = try client.read(client.command("play", 4, [.null, .string("main"), .number(-2000)], streamID: 1))
        XCTAssertEqual(r.others, [.playRequested(app: "live", name: "main")])
        // Set Buffer Length from the player needs no answer.
        XCTAssertEqual(client.send(RTMPControl.userControl(event: 3, value: 1)), [])

        r = try client.read(client.connection.session.acceptPlay())
        XCTAssertEqual(r.messages.map(\.typeID), [4, 20, 20, 18, 20])
        XCTAssertEqual(r.messages[0].payload, [0, 0, 0, 0, 0, 1], "Stream Begin 1")
        let codes = try r.messages.filter { $0.typeID == 20 }.map { try amf($0)[3].objectValue?["code"]?.stringValue }
        XCTAssertEqual(codes, ["NetStream.Play.Reset", "NetStream.Play.Start", "NetStream.Data.Start"])
        XCTAssertEqual(try amf(r.messages[3]), [.string("|RtmpSampleAccess"), .boolean(true), .boolean(true)])
        XCTAssertEqual(Set(r.messages.dropFirst().map(\.streamID)), [1])
        XCTAssertEqual(client.connection.session.state, .playing)

        r = try client.read(client.connection.session.streamEnded())
        XCTAssertEqual(r.messages.map(\.typeID), [4, 20])
        XCTAssertEqual(r.messages[0].payload, [0, 1, 0, 0, 0, 1], "Stream EOF 1")
        XCTAssertEqual(try amf(r.messages[1])[3].objectValue?["code"], .string("NetStream.Play.UnpublishNotify"))
    }

    func testRejectedPlay() throws {
        var client = Client()
        try connect(&client)
        _ = client.command("play", 4, [.null, .string("nothing")], streamID: 1)
        let r = try client.read(client.connection.session.rejectPlay(reason: "no such stream"))
        XCTAssertEqual(r.others, [.close(reason: "no such stream")])
        XCTAssertEqual(try amf(r.messages[0])[3].objectValue?["code"], .string("NetStream.Play.StreamNotFound"))
    }

    func testProtocolViolationsClose() throws {
        var client = Client()
        client.handshake()
        XCTAssertEqual(client.command("createStream", 1, [.null]).count, 1)
        XCTAssertEqual(client.connection.session.state, .closed)

        var second = Client()
        try connect(&second)
        guard case .close(let reason)? = second.command("connect", 2, [.object(["app": .string("x")])]).first else { return XCTFail() }
        XCTAssertTrue(reason.contains("second connect"))

        var bad = Client()
        try connect(&bad)
        let garbage = RTMPMessage(typeID: 20, chunkStreamID: 3, payload: [0x02, 0x00, 0x09, 0x61])
        guard case .close(let why)? = bad.send(garbage).first else { return XCTFail() }
        XCTAssertTrue(why.contains("malformed command"), why)

        var broken = Client()
        broken.handshake()
        guard case .close(let chunkError)? = broken.connection.receive([0xC3, 0]).first else { return XCTFail() }
        XCTAssertTrue(chunkError.contains("no earlier type 0 header"), chunkError)
        XCTAssertEqual(broken.connection.receive([0x03]), [], "ignored once closed")

        var version = RTMPServerConnection(hmac: hmac)
        XCTAssertEqual(version.receive([0x06]).count, 1)
    }

    func testPingAndAcknowledgement() throws {
        var client = Client()
        try connect(&client)
        var r = try client.read(client.send(RTMPControl.userControl(event: 6, value: 0xCAFE)))
        XCTAssertEqual(r.messages.map(\.payload), [[0, 7, 0, 0, 0xCA, 0xFE]])
        // A window of 100 bytes: connect, ping and the window message itself already exceed it
        // (the handshake's 3073 bytes count towards the sequence number, not the first window).
        r = try client.read(client.send(RTMPControl.windowAcknowledgementSize(100)))
        XCTAssertEqual(r.messages.map(\.typeID), [3])
        guard r.messages.count == 1 else { return }
        let sequence = r.messages[0].payload
        XCTAssertEqual(UInt64(sequence[0]) << 24 | UInt64(sequence[1]) << 16 | UInt64(sequence[2]) << 8 | UInt64(sequence[3]),
                       client.connection.decoder.bytesReceived)
        r = try client.read(client.send(RTMPMessage(typeID: 8, streamID: 1, chunkStreamID: 6, payload: [1])))
        XCTAssertEqual(r.messages, [])
    }

    func testWholeScriptDripFedMatchesBulk() throws {
        // One byte at a time through handshake and chunk stream gives the same actions.
        var wire: [UInt8] = [3] + [UInt8](repeating: 0, count: 1536) + [UInt8](repeating: 0, count: 1536)
        let commands: [RTMPMessage] = [
            RTMPCommand.message("connect", transactionID: 1, [.object(["app": .string("live/")])]),
            RTMPCommand.message("createStream", transactionID: 2, [.null]),
            RTMPCommand.message("publish", transactionID: 3, [.null, .string("k")], streamID: 1),
        ]
        for c in commands { wire += RTMPChunkEncoder.encode(c, chunkSize: 128) }
        var bulk = RTMPServerConnection(hmac: hmac), drip = RTMPServerConnection(hmac: hmac)
        let a = bulk.receive(wire)
        var b: [Action] = []
        for byte in wire { b += drip.receive([byte]) }
        func split(_ actions: [Action]) -> (Int, [Action]) {
            var n = 0, others: [Action] = []
            for x in actions { if case .send(let s) = x { n += s.count } else { others.append(x) } }
            return (n, others)
        }
        XCTAssertEqual(split(a).0, split(b).0)
        XCTAssertEqual(split(a).1, [.publishRequested(app: "live", key: "k")])
        XCTAssertEqual(split(b).1, split(a).1)
    }
}
