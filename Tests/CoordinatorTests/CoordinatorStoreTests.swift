import Coordinator
import CoordinatorCore
import Foundation
import XCTest

final class CoordinatorStoreTests: TempDatabaseTestCase {
    let usd = try! Currency.parse("USD")

    private func makeStream(_ name: String = "main", key: String = "k1") throws {
        try store.createStream(name: name, keyHash: SecretHash.hex(of: key), pool: Amount(minor: 100_000, currency: usd),
                               periodSeconds: 3600, now: 100)
    }

    private func node(_ id: String, stream: String, invite: Int64) -> NodeRecord { Self.node(id, stream: stream, invite: invite) }

    private static func node(_ id: String, stream: String, invite: Int64) -> NodeRecord {
        NodeRecord(nodeID: id, displayName: "Ana", payoutHandle: "venmo:@ana-b", stream: stream,
                   certificateSHA256: String(repeating: "0", count: 64), inviteID: invite, enrolledAt: 200)
    }

    func testStreamsLifecycle() throws {
        try makeStream()
        XCTAssertStoreError(try makeStream(), .streamExists("main"))
        let stream = try store.stream(named: "main")
        XCTAssertEqual(stream.pool.description, "1000.00 USD")
        XCTAssertEqual(stream.periodSeconds, 3600)
        XCTAssertEqual(try store.streamName(forKeyHash: SecretHash.hex(of: "k1")), "main")

        try store.rotateKey(stream: "main", keyHash: SecretHash.hex(of: "k2"))
        XCTAssertNil(try store.streamName(forKeyHash: SecretHash.hex(of: "k1")))
        XCTAssertEqual(try store.streamName(forKeyHash: SecretHash.hex(of: "k2")), "main")

        try makeStream("b-side", key: "k3")
        XCTAssertEqual(try store.streams().map(\.name), ["b-side", "main"])
        try store.deleteStream(name: "main")
        XCTAssertStoreError(try store.stream(named: "main"), .unknownStream("main"))
        XCTAssertStoreError(try store.deleteStream(name: "main"), .unknownStream("main"))
        XCTAssertStoreError(try store.rotateKey(stream: "nope", keyHash: "x"), .unknownStream("nope"))
    }

    func testSurvivesReopening() throws {
        try makeStream()
        _ = try store.createInvite(stream: "main", tokenHash: "t", uses: 2, expiresAt: 1000, now: 100)
        store = try CoordinatorStore(path: databasePath)
        XCTAssertEqual(try store.streams().map(\.name), ["main"])
        XCTAssertEqual(try store.invites().count, 1)
    }

    func testInviteUsesAreCounted() throws {
        try makeStream()
        XCTAssertStoreError(try store.createInvite(stream: "nope", tokenHash: "t", uses: 1, expiresAt: 1000, now: 100),
                            .unknownStream("nope"))
        let id = try store.createInvite(stream: "main", tokenHash: "t", uses: 2, expiresAt: 1000, now: 100)
        _ = try store.enroll(tokenHash: "t", stream: "main", now: 200) { stream, invite in
            XCTAssertEqual(stream, "main"); XCTAssertEqual(invite, id)
            return node("node-000000000001", stream: stream, invite: invite)
        }
        XCTAssertEqual(try store.invite(id: id).state.usesLeft, 1)
        _ = try store.enroll(tokenHash: "t", stream: nil, now: 200) { node("node-000000000002", stream: $0, invite: $1) }
        XCTAssertStoreError(try store.enroll(tokenHash: "t", stream: nil, now: 200) { node("node-000000000003", stream: $0, invite: $1) },
                            .inviteRefused(.usedUp))
        XCTAssertEqual(try store.nodes(includingPending: true).map(\.nodeID), ["node-000000000001", "node-000000000002"])
        XCTAssertEqual(try store.invite(id: id).state.usesLeft, 0)
    }

    func testRefusalReasons() throws {
        try makeStream()
        try makeStream("other", key: "k9")
        let make = { (s: String, i: Int64) in self.node("node-00000000000a", stream: s, invite: i) }
        XCTAssertStoreError(try store.enroll(tokenHash: "missing", stream: nil, now: 200, makeNode: make), .inviteRefused(.unknown))

        _ = try store.createInvite(stream: "main", tokenHash: "old", uses: 1, expiresAt: 150, now: 100)
        XCTAssertStoreError(try store.enroll(tokenHash: "old", stream: nil, now: 150, makeNode: make), .inviteRefused(.expired))

        let revoked = try store.createInvite(stream: "main", tokenHash: "rev", uses: 1, expiresAt: 1000, now: 100)
        let record = try store.revokeInvite(id: revoked, now: 120)
        XCTAssertEqual(record.state.revokedAt, 120)
        XCTAssertEqual(try store.revokeInvite(id: revoked, now: 130).state.revokedAt, 120, "the first revocation time stays")
        XCTAssertStoreError(try store.enroll(tokenHash: "rev", stream: nil, now: 200, makeNode: make), .inviteRefused(.revoked))
        XCTAssertStoreError(try store.revokeInvite(id: 999, now: 1), .unknownInvite(999))

        _ = try store.createInvite(stream: "main", tokenHash: "good", uses: 1, expiresAt: 1000, now: 100)
        XCTAssertStoreError(try store.enroll(tokenHash: "good", stream: "other", now: 200, makeNode: make), .inviteRefused(.wrongStream))
    }

    func testFailedEnrolmentLeavesTheUseUntaken() throws {
        try makeStream()
        let id = try store.createInvite(stream: "main", tokenHash: "t", uses: 1, expiresAt: 1000, now: 100)
        struct BadCSR: Error {}
        XCTAssertThrowsError(try store.enroll(tokenHash: "t", stream: nil, now: 200) { _, _ in throw BadCSR() })
        XCTAssertEqual(try store.invite(id: id).state.usesLeft, 1)
        XCTAssertTrue(try store.nodes(includingPending: true).isEmpty)
    }

    func testConcurrentJoinsNeverOverspend() throws {
        try makeStream()
        let id = try store.createInvite(stream: "main", tokenHash: "t", uses: 5, expiresAt: 1000, now: 100)
        let successes = Counter()
        // Two connections to the same file, as two processes would have.
        let stores = [self.store!, try CoordinatorStore(path: databasePath)]
        DispatchQueue.concurrentPerform(iterations: 40) { i in
            let store = stores[i % 2]
            let id = String(format: "node-%012x", i)
            if (try? store.enroll(tokenHash: "t", stream: nil, now: 200, makeNode: { Self.node(id, stream: $0, invite: $1) })) != nil {
                successes.increment()
            }
        }
        XCTAssertEqual(successes.value, 5)
        XCTAssertEqual(try store.invite(id: id).state.usesLeft, 0)
        XCTAssertEqual(try store.nodes(includingPending: true).count, 5)
    }

    func testNodesEnableDisableAndStreamDeletion() throws {
        try makeStream()
        _ = try store.createInvite(stream: "main", tokenHash: "t", uses: 1, expiresAt: 1000, now: 100)
        _ = try store.enroll(tokenHash: "t", stream: nil, now: 200) { node("node-000000000001", stream: $0, invite: $1) }
        try store.setEnabled(node: "node-000000000001", false)
        XCTAssertFalse(try store.node(id: "node-000000000001").enabled)
        try store.setEnabled(node: "node-000000000001", true)
        XCTAssertTrue(try store.node(id: "node-000000000001").enabled)
        XCTAssertStoreError(try store.setEnabled(node: "node-ffffffffffff", false), .unknownNode("node-ffffffffffff"))
        XCTAssertStoreError(try store.node(id: "x"), .unknownNode("x"))

        try store.deleteStream(name: "main")
        XCTAssertTrue(try store.invites().isEmpty, "a stream's invites go with it")
        XCTAssertNil(try store.node(id: "node-000000000001").stream, "its nodes stay, without a stream")
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.lock(); count += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}

/// Joins are all or nothing: a pending enrolment is confirmed, or undone with its invite use back.
final class PendingEnrollmentTests: XCTestCase {
    var store: CoordinatorStore!

    override func setUpWithError() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pending-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        store = try CoordinatorStore(path: dir.appendingPathComponent("c.db").path)
        try store.createStream(name: "main", keyHash: "k", pool: Amount(minor: 0, currency: try Currency.parse("USD")), periodSeconds: 3600, now: 1)
    }

    func enroll(_ id: String) throws {
        _ = try store.enroll(tokenHash: "t", stream: nil, now: 100) { stream, invite in
            NodeRecord(nodeID: id, displayName: "A", payoutHandle: "venmo:@a-b", stream: stream,
                       certificateSHA256: "00", inviteID: invite, enrolledAt: 100)
        }
    }

    func testConfirmKeepsTheUseAndAbandonGivesItBack() throws {
        let invite = try store.createInvite(stream: "main", tokenHash: "t", uses: 2, expiresAt: 10_000, now: 1)
        try enroll("node-000000000001")
        try enroll("node-000000000002")
        XCTAssertEqual(try store.invite(id: invite).state.usesLeft, 0)
        XCTAssertEqual(try store.nodes().count, 0, "nothing listed until confirmed")
        XCTAssertTrue(try store.confirmEnrollment(node: "node-000000000001"))
        XCTAssertFalse(try store.confirmEnrollment(node: "node-000000000001"), "confirmed once")
        XCTAssertTrue(try store.abandonEnrollment(node: "node-000000000002"))
        XCTAssertFalse(try store.abandonEnrollment(node: "node-000000000001"), "a confirmed node is never undone")
        XCTAssertEqual(try store.nodes().map(\.nodeID), ["node-000000000001"])
        XCTAssertEqual(try store.invite(id: invite).state.usesLeft, 1, "the abandoned join's use came back")
    }

    func testStalePendingJoinsAreFoundByAge() throws {
        _ = try store.createInvite(stream: "main", tokenHash: "t", uses: 1, expiresAt: 10_000, now: 1)
        try enroll("node-000000000003")
        XCTAssertEqual(try store.stalePendingNodes(enrolledBefore: 100), [])
        XCTAssertEqual(try store.stalePendingNodes(enrolledBefore: 101), ["node-000000000003"])
    }
}
