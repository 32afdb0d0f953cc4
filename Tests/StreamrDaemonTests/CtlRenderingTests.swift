import Ctl
import StreamrWire
import XCTest

final class CtlRenderingTests: XCTestCase {
    func testTableAlignsColumns() {
        XCTAssertEqual(Table.render(columns: ["name", "state", "viewers"], rows: [["main", "live", "12"], ["a-longer-name", "", "0"]]), """
        NAME           STATE  VIEWERS
        main           live   12
        a-longer-name         0
        """)
    }

    func testJSONEscapesAndKeepsOrder() {
        let value = JSON.Value.object([("b", .string("quote \" backslash \\ newline \n tab \t bell \u{07}")), ("a", .array([.int(-1), .uint(2), .bool(true), .null]))])
        XCTAssertEqual(value.render(), #"{"b":"quote \" backslash \\ newline \n tab \t bell \u0007","a":[-1,2,true,null]}"#)
    }

    func testStatusViewJSONIsParseable() throws {
        let status = Status(software: "streamr-node/0.1.0", role: .node, uptimeSeconds: 42, items: [StatusItem("viewers", "3")])
        let text = StatusView.render(status, json: true)
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        XCTAssertEqual(object?["uptime_seconds"] as? Int, 42)
        XCTAssertEqual((object?["items"] as? [String: String])?["viewers"], "3")
        XCTAssertTrue(StatusView.render(status, json: false).contains("viewers:"))
    }
}

final class NoDaemonMessageTests: XCTestCase {
    func testFriendsMachineSaysStoppedOrNotJoined() {
        let node = ConnectionOptions.nodeSocket
        XCTAssertEqual(NoDaemon.message(path: node, explicit: false, hostInstalled: false, nodeInstalled: true, nodeJoined: true),
                       "streamr-node is stopped: `systemctl start streamr-node`")
        XCTAssertEqual(NoDaemon.message(path: node, explicit: false, hostInstalled: false, nodeInstalled: true, nodeJoined: nil),
                       "streamr-node is stopped: `systemctl start streamr-node`")
        XCTAssertTrue(NoDaemon.message(path: node, explicit: false, hostInstalled: false, nodeInstalled: true, nodeJoined: false)
            .hasPrefix("streamr-node has not joined a host yet"))
    }

    func testHostAndElsewhere() {
        XCTAssertTrue(NoDaemon.message(path: ConnectionOptions.hostSocket, explicit: false, hostInstalled: true, nodeInstalled: false, nodeJoined: nil)
            .contains("systemctl start streamr.target"))
        XCTAssertEqual(NoDaemon.message(path: "/tmp/x.sock", explicit: true, hostInstalled: false, nodeInstalled: false, nodeJoined: nil),
                       "no Streamr daemon listens on /tmp/x.sock: it is not running, or it uses another socket")
    }
}
