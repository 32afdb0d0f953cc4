import Coordinator
import Foundation
import XCTest

/// A fresh database file in its own temp directory, removed when the test ends.
class TempDatabaseTestCase: XCTestCase {
    var directory: URL!
    var store: CoordinatorStore!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("streamr-coord-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        store = try CoordinatorStore(path: databasePath)
    }

    override func tearDownWithError() throws {
        store = nil
        try? FileManager.default.removeItem(at: directory)
    }

    var databasePath: String { directory.appendingPathComponent("coordinator.db").path }
}

func XCTAssertStoreError<T>(_ expression: @autoclosure () throws -> T, _ expected: CoordinatorStoreError,
                            file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertThrowsError(try expression(), file: file, line: line) { error in
        XCTAssertEqual(error as? CoordinatorStoreError, expected, "\(error)", file: file, line: line)
    }
}
