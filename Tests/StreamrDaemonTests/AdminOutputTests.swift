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
        let created = AdminResponse(columns: ["name", "key", "rtmp_url"], rows: [["main", "KEY", "rtmp://h:1935/live/KEY"]],
                                    message: "stream `main` created")
        let text = AdminOutput.streamKey(created, json: false)
        XCTAssertTrue(text.contains("Server:      rtmp://h:1935/live\n"), text)
        XCTAssertTrue(text.contains("Stream Key:  KEY\n"), text)
        XCTAssertTrue(text.contains("rotate-key main"), text)
    }
}
