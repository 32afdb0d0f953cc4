import CoordinatorCore
import FoundationEssentials
import Glibc
import StreamrStore

/// The coordinator's durable state: streams, invites and nodes, in one SQLite database
/// (WAL, each change one transaction). Every write is committed before the caller hears
/// "done", so an acknowledged command survives a crash.
public final class CoordinatorStore: Sendable {
    let db: Database
    /// A read-only connection for the listings that admins, /watch and the validator ask for:
    /// in WAL mode it reads the last commit without waiting for the heartbeat writer's
    /// transaction (which holds `db` while it runs). Never used inside a transaction.
    let reader: Database

    /// Opens (creating and migrating) the database at `path`.
    public init(path: String) throws {
        db = try Database(path: path, migrations: CoordinatorSchema.migrations, checkIntegrity: true)
        reader = path == ":memory:" ? db : try Database(path: path, readOnly: true)
    }

    public static func now() -> Int64 { Int64(Date().timeIntervalSince1970) }

    public var path: String { db.path }

    // MARK: - Streams

    public func createStream(name: String, keyHash: String, pool: Amount, periodSeconds: Int64, now: Int64) throws {
        try db.transaction { db in
            guard try db.queryOne("SELECT 1 FROM streams WHERE name = ?", name) == nil else {
                throw CoordinatorStoreError.streamExists(name)
            }
            try db.run("""
                INSERT INTO streams (name, key_hash, pool_minor, currency, period_seconds, created_at)
                VALUES (?, ?, ?, ?, ?, ?)
                """, name, keyHash, pool.minor, pool.currency.code, periodSeconds, now)
        }
    }

    public func streams() throws -> [StreamRecord] {
        try reader.query("SELECT * FROM streams ORDER BY name").map(StreamRecord.init(row:))
    }

    public func stream(named name: String) throws -> StreamRecord {
        guard let row = try db.queryOne("SELECT * FROM streams WHERE name = ?", name) else {
            throw CoordinatorStoreError.unknownStream(name)
        }
        return try StreamRecord(row: row)
    }

    /// Replaces the stored key hash; the old key stops working at once.
    public func rotateKey(stream name: String, keyHash: String) throws {
        guard try db.run("UPDATE streams SET key_hash = ? WHERE name = ?", keyHash, name) == 1 else {
            throw CoordinatorStoreError.unknownStream(name)
        }
    }

    /// Deletes the stream and its invites; its nodes stay enrolled, without a stream.
    public func deleteStream(name: String) throws {
        guard try db.run("DELETE FROM streams WHERE name = ?", name) == 1 else {
            throw CoordinatorStoreError.unknownStream(name)
        }
    }

    /// The stream a publish key belongs to (for the ingest's key check), if any.
    public func streamName(forKeyHash keyHash: String) throws -> String? {
        try db.queryOne("SELECT name FROM streams WHERE key_hash = ?", keyHash)?.string("name")
    }

    // MARK: - Invites

    /// Stores a new invite and returns its id.
    public func createInvite(stream: String, tokenHash: String, uses: Int64, expiresAt: Int64, now: Int64) throws -> Int64 {
        try db.transaction { db in
            guard try db.queryOne("SELECT 1 FROM streams WHERE name = ?", stream) != nil else {
                throw CoordinatorStoreError.unknownStream(stream)
            }
            let row = try db.queryOne("""
                INSERT INTO invites (token_hash, stream, uses_left, max_uses, expires_at, created_at)
                VALUES (?, ?, ?, ?, ?, ?) RETURNING id
                """, tokenHash, stream, uses, uses, expiresAt, now)
            return row?.int64("id") ?? 0
        }
    }

    public func invites() throws -> [InviteRecord] {
        try db.query("SELECT * FROM invites ORDER BY id").map(InviteRecord.init(row:))
    }

    public func invite(id: Int64) throws -> InviteRecord {
        guard let row = try db.queryOne("SELECT * FROM invites WHERE id = ?", id) else {
            throw CoordinatorStoreError.unknownInvite(id)
        }
        return InviteRecord(row: row)
    }

    /// Revokes an invite (idempotent: the first revocation time is kept).
    public func revokeInvite(id: Int64, now: Int64) throws -> InviteRecord {
        try db.transaction { db in
            guard try db.run("UPDATE invites SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?", now, id) == 1 else {
                throw CoordinatorStoreError.unknownInvite(id)
            }
            return try invite(id: id)
        }
    }

    /// Takes one use of the invite with `tokenHash`, or throws `.inviteRefused` with the reason.
    /// The single conditional UPDATE is what makes two racing joins unable to share the last
    /// use; the follow-up SELECT only explains a refusal. Call inside `db.transaction` to tie
    /// the use to what is done with it (see `enroll`).
    func consumeInvite(tokenHash: String, stream: String?, now: Int64, in db: Database) throws -> (id: Int64, stream: String) {
        if let stream, !stream.isEmpty,
           let row = try db.queryOne("SELECT stream FROM invites WHERE token_hash = ?", tokenHash),
           row.string("stream") != stream {
            throw CoordinatorStoreError.inviteRefused(.wrongStream)
        }
        if let row = try db.queryOne("""
            UPDATE invites SET uses_left = uses_left - 1
            WHERE token_hash = ? AND uses_left > 0 AND expires_at > ? AND revoked_at IS NULL
            RETURNING id, stream
            """, tokenHash, now) {
            return (row.int64("id") ?? 0, row.string("stream") ?? "")
        }
        guard let row = try db.queryOne("SELECT * FROM invites WHERE token_hash = ?", tokenHash) else {
            throw CoordinatorStoreError.inviteRefused(.unknown)
        }
        // The UPDATE matched nothing, so some reason applies; `usedUp` only if the rules drifted.
        throw CoordinatorStoreError.inviteRefused(InviteRecord(row: row).state.refusal(now: now) ?? .usedUp)
    }

    // MARK: - Nodes

    /// Consumes one use of the invite and stores the node `makeNode` builds for its stream,
    /// in one transaction: a failure in `makeNode` (e.g. a bad CSR) leaves the use untaken.
    public func enroll(tokenHash: String, stream: String?, now: Int64,
                       makeNode: (_ stream: String, _ inviteID: Int64) throws -> NodeRecord) throws -> NodeRecord {
        try db.transaction { db in
            let invite = try consumeInvite(tokenHash: tokenHash, stream: stream, now: now, in: db)
            let node = try makeNode(invite.stream, invite.id)
            try db.run("""
                INSERT INTO nodes (node_id, display_name, payout_handle, stream, enabled, cert_sha256, invite_id, enrolled_at, pending)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)
                """, node.nodeID, node.displayName, node.payoutHandle, node.stream, node.enabled,
                       node.certificateSHA256, node.inviteID, node.enrolledAt)
            return node
        }
    }

    /// The node stored its identity: its enrolment is final. Returns whether it was pending.
    @discardableResult
    public func confirmEnrollment(node id: String) throws -> Bool {
        try db.run("UPDATE nodes SET pending = 0 WHERE node_id = ? AND pending = 1", id) == 1
    }

    /// Undoes a pending enrolment (the node could not store it, or never confirmed): the node
    /// is removed and its invite gets the use back (unless the invite is gone).
    @discardableResult
    public func abandonEnrollment(node id: String) throws -> Bool {
        try db.transaction { db in
            guard let row = try db.queryOne("SELECT invite_id FROM nodes WHERE node_id = ? AND pending = 1", id) else { return false }
            if let invite = row.int64("invite_id") {
                try db.run("UPDATE invites SET uses_left = min(max_uses, uses_left + 1) WHERE id = ?", invite)
            }
            try db.run("DELETE FROM nodes WHERE node_id = ?", id)
            return true
        }
    }

    /// Pending enrolments older than `before` (unix seconds): never confirmed, so undone.
    public func stalePendingNodes(enrolledBefore before: Int64) throws -> [String] {
        try db.query("SELECT node_id FROM nodes WHERE pending = 1 AND enrolled_at < ?", before).compactMap { $0.string("node_id") }
    }

    /// An online, consistent copy of the database (SQLite's backup API) at `destination`.
    public func backup(to destination: String) throws { try db.backup(to: destination) }

    /// Enrolled nodes (a join still being confirmed only with `includingPending`).
    public func nodes(includingPending: Bool = false) throws -> [NodeRecord] {
        try reader.query("SELECT * FROM nodes WHERE pending = 0 OR ? ORDER BY enrolled_at, node_id", includingPending).map(NodeRecord.init(row:))
    }

    public func node(id: String) throws -> NodeRecord {
        guard let row = try db.queryOne("SELECT * FROM nodes WHERE node_id = ?", id) else {
            throw CoordinatorStoreError.unknownNode(id)
        }
        return NodeRecord(row: row)
    }

    public func setEnabled(node id: String, _ enabled: Bool) throws {
        guard try db.run("UPDATE nodes SET enabled = ? WHERE node_id = ?", enabled, id) == 1 else {
            throw CoordinatorStoreError.unknownNode(id)
        }
    }
}
