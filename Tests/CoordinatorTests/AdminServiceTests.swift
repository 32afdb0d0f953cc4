import Coordinator
import CoordinatorCore
import Logging
import StreamrWire
import XCTest

final class AdminServiceTests: TempDatabaseTestCase {
    static let pin = "sha256:" + String(repeating: "cd", count: 32)
    var admin: AdminService!

    override func setUpWithError() throws {
        try super.setUpWithError()
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        admin = AdminService(store: store, endpoints: PublicEndpoints(host: "host.example", rtmpPort: 1935, rpcPort: 7443),
                             caPin: { Self.pin }, clock: { 1_000_000 }, clockMs: { 1_000_000_000 }, logger: logger)
    }

    @discardableResult
    private func call(_ command: String, _ arguments: [(String, String)] = []) throws -> AdminResponse {
        try admin.handle(AdminRequest(command: command.split(separator: " ").map(String.init),
                                      arguments: arguments.map { AdminArgument($0.0, $0.1) }))
    }

    private func assertError(_ command: String, _ arguments: [(String, String)] = [], code: ErrorCode, _ text: String,
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try call(command, arguments), file: file, line: line) { error in
            guard let error = error as? ErrorMessage else { return XCTFail("\(error)", file: file, line: line) }
            XCTAssertEqual(error.code, code, file: file, line: line)
            XCTAssertEqual(error.message, text, file: file, line: line)
        }
    }

    func testStreamCreatePrintsKeyOnceAndStoresItHashed() throws {
        let created = try call("stream create", [("name", "main"), ("pool", "1000.00"), ("per", "1h"), ("currency", "usd")])
        XCTAssertEqual(created.columns, ["name", "key", "rtmp_server", "rtmp_url"])
        let key = created.rows[0][1]
        XCTAssertEqual(created.rows[0][2], "rtmp://host.example:1935/live")
        XCTAssertEqual(created.rows[0][3], "rtmp://host.example:1935/live/\(key)")
        XCTAssertEqual(try store.streamName(forKeyHash: SecretHash.hex(of: key)), "main")
        XCTAssertTrue(created.message.contains("1000.00 USD per 1h"), created.message)

        let shown = try call("stream show", [("name", "main")])
        XCTAssertEqual(shown.columns, ["name", "state", "pool", "currency", "per", "nodes", "created",
                                       "live_since", "pool_minor", "per_seconds", "rtmp_server", "watch_url"])
        XCTAssertEqual(shown.rows, [["main", "offline", "1000.00", "USD", "1h", "0", "1970-01-12T13:46:40Z",
                                     "-", "100000", "3600", "rtmp://host.example:1935/live", "http://host.example:8000/watch/main"]])
        XCTAssertEqual(shown.types, [.text, .text, .text, .text, .text, .integer, .timestamp, .timestamp, .integer, .integer, .text, .text])
        XCTAssertTrue(shown.message.contains("Server: rtmp://host.example:1935/live"), shown.message)
        XCTAssertFalse((shown.rows.joined().joined() + shown.message).contains(key), "the key is never shown again")
        XCTAssertEqual(try call("stream list").rows.map { $0[0] }, ["main"])

        let rotated = try call("stream rotate-key", [("name", "main")])
        XCTAssertNotEqual(rotated.rows[0][1], key)
        XCTAssertNil(try store.streamName(forKeyHash: SecretHash.hex(of: key)))

        try call("stream delete", [("name", "main")])
        XCTAssertTrue(try call("stream list").rows.isEmpty)
    }

    func testStreamErrors() throws {
        try call("stream create", [("name", "main")])
        assertError("stream create", [("name", "main")], code: .alreadyExists, "a stream named `main` already exists")
        assertError("stream show", [("name", "x")], code: .notFound, "unknown stream `x`")
        assertError("stream delete", [("name", "x")], code: .notFound, "unknown stream `x`")
        assertError("stream rotate-key", [("name", "x")], code: .notFound, "unknown stream `x`")
        assertError("stream create", [("name", "b"), ("pool", "1,000")], code: .invalidArgument,
                    "bad amount `1,000`: use digits with at most 2 decimals, e.g. 1000.00")
        assertError("stream create", [("name", "b"), ("per", "1w")], code: .invalidArgument,
                    "bad duration `1w`: use a whole number and a unit s, m, h or d, e.g. 30m, 1h, 1d")
        assertError("stream create", [("name", "Bad!")], code: .invalidArgument,
                    "bad stream name `Bad!`: use lower-case letters, digits, `-` and `_`, starting with a letter or digit")
        assertError("stream create", [], code: .invalidArgument, "missing argument `name`")
        assertError("stream frobnicate", code: .unsupported, "unknown command `stream frobnicate` (is streamrctl newer than the coordinator?)")
    }

    func testInvites() throws {
        try call("stream create", [("name", "main")])
        let created = try call("invite create", [("stream", "main"), ("uses", "3"), ("expires", "2h")])
        XCTAssertEqual(created.columns, ["id", "stream", "uses", "expires", "join_line"])
        let line = try JoinLine.parse(created.rows[0][4])
        XCTAssertEqual(line.host, "host.example")
        XCTAssertEqual(line.port, 7443)
        XCTAssertEqual(line.stream, "main")
        XCTAssertEqual(line.caPin, Self.pin)
        XCTAssertEqual(try store.invites().first?.state.maxUses, 3)
        XCTAssertEqual(try store.invites().first?.state.expiresAt, 1_000_000 + 7200)

        let listed = try call("invite list")
        XCTAssertEqual(listed.rows.first?[5], "active")
        XCTAssertFalse(listed.rows.joined().joined().contains(line.token), "tokens are never listed")
        try call("invite revoke", [("id", created.rows[0][0])])
        XCTAssertEqual(try call("invite list").rows.first?[5], "revoked")

        assertError("invite create", [("stream", "nope")], code: .notFound, "unknown stream `nope`")
        assertError("invite create", [("stream", "main"), ("uses", "0")], code: .invalidArgument,
                    "--uses takes a whole number from 1 to 10000, got `0`")
        assertError("invite revoke", [("id", "42")], code: .notFound, "unknown invite 42")
        assertError("invite revoke", [("id", "x")], code: .invalidArgument, "bad invite id `x`: use the number from `invite list`")
    }

    func testNodes() throws {
        try call("stream create", [("name", "main")])
        _ = try store.createInvite(stream: "main", tokenHash: "t", uses: 1, expiresAt: 2_000_000, now: 1)
        _ = try store.enroll(tokenHash: "t", stream: nil, now: 5) { stream, invite in
            NodeRecord(nodeID: "node-0123456789ab", displayName: "Ana", payoutHandle: "venmo:@ana-b", stream: stream,
                       certificateSHA256: "ff", inviteID: invite, enrolledAt: 5)
        }
        XCTAssertEqual(try call("node list").rows, [], "a join not confirmed yet is not listed")
        XCTAssertTrue(try store.confirmEnrollment(node: "node-0123456789ab"))
        let listed = try call("node list")
        XCTAssertEqual(listed.rows, [["node-0123456789ab", "Ana", "main", "venmo:@ana-b", "true", "1970-01-01T00:00:05Z",
                                      "false", "false", "-", "0", "0", "-"]])
        XCTAssertEqual(listed.types[4], .boolean)
        XCTAssertEqual(listed.types[9], .integer)
        // Online while a session is open and the last heartbeat is within 3 intervals (15 s).
        let session = try store.startSession(node: "node-0123456789ab", atMs: 999_000_000)
        let heartbeat = { (seq: UInt64, at: Int64) in
            SessionEvent.heartbeat(HeartbeatEntry(nodeID: "node-0123456789ab", sessionID: session, heartbeat: Heartbeat(
                seq: seq, sentUnixMs: 0, streams: [StreamCounters(stream: "main", viewers: 4, bytesServed: 5000, lastChunkSeq: 1)]),
                receivedMs: at))
        }
        try store.commit([heartbeat(1, 999_985_000)])
        XCTAssertEqual(Array(try call("node list").rows[0][6...10]), ["true", "false", "1970-01-12T13:46:25Z", "4", "5000"])
        XCTAssertEqual(try admin.nodesOnline(), 1)
        try store.commit([.sessionEnded(id: session, atMs: 999_990_000)])
        XCTAssertEqual(Array(try call("node list").rows[0][6...10]), ["false", "false", "1970-01-12T13:46:25Z", "0", "5000"])
        XCTAssertEqual(try admin.nodesOnline(), 0)
        try call("node disable", [("id", "node-0123456789ab")])
        XCTAssertEqual(try call("node show", [("id", "node-0123456789ab")]).rows[0][4], "false")
        try call("node enable", [("id", "node-0123456789ab")])
        XCTAssertEqual(try call("node show", [("id", "node-0123456789ab")]).rows[0][4], "true")
        let stream = try call("stream show", [("name", "main")])
        XCTAssertEqual(stream.rows[0][stream.columns.firstIndex(of: "nodes")!], "1")
        XCTAssertEqual(stream.rows[0][stream.columns.firstIndex(of: "state")!], "offline")
        XCTAssertTrue(stream.rows[0][stream.columns.firstIndex(of: "rtmp_server")!].hasSuffix(":1935/live"))
        XCTAssertFalse(stream.message.contains(stream.rows[0][0] + "-key"), "the key is never shown again")
        assertError("node show", [("id", "node-x")], code: .notFound, "unknown node `node-x`")
        assertError("node disable", [("id", "node-x")], code: .notFound, "unknown node `node-x`")
    }
}
