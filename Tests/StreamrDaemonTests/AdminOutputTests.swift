import Ctl
import Foundation
import StreamrWire
import XCTest

final class AdminOutputTests: XCTestCase {
    let listing = AdminResponse(columns: ["name", "state"], rows: [["main", "live"], ["b", "offline"]])

    func testListingAsTableAndJSON() throws {
        XCTAssertEqual(AdminOutput.list(listing, json: false, empty: "none"), "NAME  STATE\nmain  live\nb     offline")
        XCTAssertEqual(AdminOutput.list(listing, json: true, empty: "none"),
                       #"[{"name":"main","state":"live"},{"name":"b","state":"offline"}]"#)
        XCTAssertEqual(AdminOutput.list(AdminResponse(columns: ["name"]), json: false, empty: "none"), "none")
        XCTAssertEqual(AdminOutput.list(AdminResponse(columns: ["name"]), json: true, empty: "none"), "[]")
    }

    func testShowAndMessage() {
        XCTAssertEqual(AdminOutput.show(listing, json: false), "name:   main\nstate:  live")
        XCTAssertEqual(AdminOutput.show(listing, json: true), #"{"name":"main","state":"live"}"#)
        let done = AdminResponse(message: "stream `x` deleted")
        XCTAssertEqual(AdminOutput.message(done, json: false), "stream `x` deleted")
        XCTAssertEqual(AdminOutput.message(done, json: true), #"{"message":"stream `x` deleted"}"#)
    }

    func testStreamKeyForOBS() {
        let created = AdminResponse(columns: ["name", "key", "rtmp_server", "rtmp_url"],
                                    rows: [["main", "KEY", "rtmp://h:1935/live", "rtmp://h:1935/live/KEY"]],
                                    message: "stream `main` created\nwarning: `h` resolves only to loopback")
        let text = AdminOutput.streamKey(created, json: false)
        XCTAssertTrue(text.contains("Server:      rtmp://h:1935/live\n"), text)
        XCTAssertTrue(text.contains("Stream Key:  KEY\n"), text)
        XCTAssertTrue(text.contains("rotate-key main"), text)
        XCTAssertFalse(text.contains("warning:"), "warnings go to stderr")
    }

    func testJSONCellsHaveTheirColumnsTypes() {
        let response = AdminResponse(columns: ["id", "online", "viewers", "seen", "rate", "invite"],
                                     rows: [["n1", "true", "4", "2026-12-02T05:00:00Z", "99.5", "-"]],
                                     types: [.text, .boolean, .integer, .timestamp, .number, .integer])
        XCTAssertEqual(AdminOutput.list(response, json: true, empty: ""),
                       #"[{"id":"n1","online":true,"viewers":4,"seen":"2026-12-02T05:00:00Z","rate":99.5,"invite":null}]"#)
    }
}
