import StreamrStore

/// The coordinator's SQLite schema. Times are unix seconds; money is integer minor units.
/// Secrets (stream keys, invite tokens) are stored only as SHA-256 hex.
enum CoordinatorSchema {
    static let migrations = [
        Migration(version: 1, sql: """
            CREATE TABLE streams (
                name TEXT PRIMARY KEY,
                key_hash TEXT NOT NULL UNIQUE,
                pool_minor INTEGER NOT NULL CHECK (pool_minor >= 0),
                currency TEXT NOT NULL,
                period_seconds INTEGER NOT NULL CHECK (period_seconds > 0),
                state TEXT NOT NULL DEFAULT 'offline' CHECK (state IN ('offline', 'live')),
                created_at INTEGER NOT NULL
            ) STRICT;
            CREATE TABLE invites (
                id INTEGER PRIMARY KEY,
                token_hash TEXT NOT NULL UNIQUE,
                stream TEXT NOT NULL REFERENCES streams(name) ON DELETE CASCADE,
                uses_left INTEGER NOT NULL CHECK (uses_left >= 0),
                max_uses INTEGER NOT NULL CHECK (max_uses > 0),
                expires_at INTEGER NOT NULL,
                revoked_at INTEGER,
                created_at INTEGER NOT NULL
            ) STRICT;
            CREATE INDEX invites_by_stream ON invites(stream);
            -- A node outlives the stream it joined for (its earnings history stays), hence SET NULL.
            CREATE TABLE nodes (
                node_id TEXT PRIMARY KEY,
                display_name TEXT NOT NULL,
                payout_handle TEXT NOT NULL,
                stream TEXT REFERENCES streams(name) ON DELETE SET NULL,
                enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
                cert_sha256 TEXT NOT NULL,
                invite_id INTEGER,
                enrolled_at INTEGER NOT NULL
            ) STRICT;
            CREATE INDEX nodes_by_stream ON nodes(stream);
            """),
        // Sessions and heartbeats. Heartbeat times are unix milliseconds (uptime needs better
        // than seconds). nodes.last_seq is the last accepted heartbeat seq, so a replay is
        // refused across coordinator restarts; the (node_id, seq) key refuses it again here.
        Migration(version: 2, sql: """
            ALTER TABLE nodes ADD COLUMN last_seq INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE nodes ADD COLUMN last_heartbeat_ms INTEGER;
            CREATE TABLE sessions (
                id INTEGER PRIMARY KEY,
                node_id TEXT NOT NULL REFERENCES nodes(node_id) ON DELETE CASCADE,
                started_ms INTEGER NOT NULL,
                ended_ms INTEGER,
                last_heartbeat_ms INTEGER,
                first_seq INTEGER,
                last_seq INTEGER,
                heartbeats INTEGER NOT NULL DEFAULT 0,
                viewers INTEGER NOT NULL DEFAULT 0,
                bytes_served INTEGER NOT NULL DEFAULT 0,
                buffer_health_ms INTEGER NOT NULL DEFAULT 0
            ) STRICT;
            CREATE INDEX sessions_by_node ON sessions(node_id, started_ms);
            CREATE INDEX sessions_open ON sessions(ended_ms) WHERE ended_ms IS NULL;
            CREATE TABLE heartbeats (
                node_id TEXT NOT NULL,
                seq INTEGER NOT NULL,
                session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
                received_ms INTEGER NOT NULL,
                sent_ms INTEGER NOT NULL,
                buffer_health_ms INTEGER NOT NULL,
                PRIMARY KEY (node_id, seq)
            ) STRICT, WITHOUT ROWID;
            CREATE TABLE heartbeat_streams (
                node_id TEXT NOT NULL,
                seq INTEGER NOT NULL,
                stream TEXT NOT NULL,
                viewers INTEGER NOT NULL,
                bytes_served INTEGER NOT NULL,
                last_chunk_seq INTEGER NOT NULL,
                PRIMARY KEY (node_id, seq, stream)
            ) STRICT, WITHOUT ROWID;
            """),
        // Verified uptime (UptimeTracker): an interval per node per stream, from its first to
        // its last heartbeat. `closed` once a later heartbeat showed the gap; an open one whose
        // end is over 3 heartbeat intervals ago is over too (no heartbeat has come to say so).
        Migration(version: 3, sql: """
            CREATE TABLE uptime_intervals (
                node_id TEXT NOT NULL,
                stream TEXT NOT NULL,
                start_ms INTEGER NOT NULL,
                end_ms INTEGER NOT NULL CHECK (end_ms >= start_ms),
                closed INTEGER NOT NULL DEFAULT 0 CHECK (closed IN (0, 1)),
                PRIMARY KEY (node_id, stream, start_ms)
            ) STRICT, WITHOUT ROWID;
            CREATE INDEX uptime_open ON uptime_intervals(closed) WHERE closed = 0;
            """),
        // Raw heartbeats are kept for `heartbeat_retention` (uptime intervals and sessions,
        // which earnings use, are kept); pruning finds old ones by time.
        Migration(version: 4, sql: """
            CREATE INDEX heartbeats_by_time ON heartbeats(received_ms);
            """),
        // Chunk digests from the ingest (the validator's reference, and a record of what was
        // published): per stream and publish session, by sequence number.
        Migration(version: 5, sql: """
            CREATE TABLE chunks (
                stream TEXT NOT NULL,
                session_started_ms INTEGER NOT NULL,
                seq INTEGER NOT NULL,
                first_ts_ms INTEGER NOT NULL,
                last_ts_ms INTEGER NOT NULL,
                size INTEGER NOT NULL,
                sha256 TEXT NOT NULL,
                chain TEXT NOT NULL,
                signature TEXT NOT NULL,
                sealed_ms INTEGER NOT NULL,
                PRIMARY KEY (stream, session_started_ms, seq)
            ) STRICT, WITHOUT ROWID;
            ALTER TABLE streams ADD COLUMN live_since_ms INTEGER;
            """),
        // Joins are all or nothing: a node is `pending` from enrolment until it confirms it
        // stored its identity (or connects with its certificate); an unconfirmed one is undone
        // and its invite use given back. Live state moved to memory (StreamLiveness): the
        // streams.state column is no longer written.
        Migration(version: 6, sql: """
            ALTER TABLE nodes ADD COLUMN pending INTEGER NOT NULL DEFAULT 0 CHECK (pending IN (0, 1));
            CREATE INDEX nodes_pending ON nodes(enrolled_at) WHERE pending = 1;
            UPDATE streams SET state = 'offline', live_since_ms = NULL;
            """),
        // The validator's results (CoordinatorStore+Checks.swift). The earnings engine reads
        // checks, fraud_flags and validator_coverage by these column names. Times are unix ms.
        // checks: one row per SpotCheckReport, report_id UNIQUE (a retried report is stored
        // once); chain_id is the uint64's bit pattern; ttfb_ms and throughput_bps are NULL when
        // no body byte came. fraud_flags: a node flagged for a stream at at_ms earns nothing
        // in that period unless the flag is cleared (cleared_ms set, with the admin's note).
        // validator_coverage: when the validator was connected and checking (an interval's
        // end moves on with each of its keepalives); time outside them is no node's fault.
        // claim_adjustments: claims (bytes, viewers) not counted in full, per period.
        Migration(version: 7, sql: """
            CREATE TABLE checks (
                id INTEGER PRIMARY KEY,
                report_id INTEGER NOT NULL UNIQUE,
                node_id TEXT NOT NULL,
                stream TEXT NOT NULL,
                chain_id INTEGER NOT NULL DEFAULT 0,
                chunk_seq INTEGER,
                kind TEXT NOT NULL,
                passed INTEGER NOT NULL CHECK (passed IN (0, 1)),
                verdict TEXT NOT NULL CHECK (verdict IN ('passed', 'failed', 'altered', 'stale')),
                reason TEXT NOT NULL,
                ttfb_ms INTEGER,
                throughput_bps INTEGER,
                bytes INTEGER NOT NULL DEFAULT 0,
                via_watch INTEGER NOT NULL DEFAULT 0 CHECK (via_watch IN (0, 1)),
                checked_ms INTEGER NOT NULL,
                received_ms INTEGER NOT NULL
            ) STRICT;
            CREATE INDEX checks_by_node ON checks(node_id, checked_ms);
            CREATE INDEX checks_by_time ON checks(checked_ms);
            CREATE TABLE fraud_flags (
                id INTEGER PRIMARY KEY,
                node_id TEXT NOT NULL,
                stream TEXT NOT NULL,
                at_ms INTEGER NOT NULL,
                reason TEXT NOT NULL,
                evidence TEXT NOT NULL,
                cleared_ms INTEGER,
                cleared_note TEXT
            ) STRICT;
            CREATE INDEX fraud_flags_by_node ON fraud_flags(node_id, stream, at_ms);
            CREATE TABLE validator_coverage (
                id INTEGER PRIMARY KEY,
                start_ms INTEGER NOT NULL,
                end_ms INTEGER NOT NULL CHECK (end_ms >= start_ms)
            ) STRICT;
            CREATE INDEX validator_coverage_by_end ON validator_coverage(end_ms);
            CREATE TABLE claim_adjustments (
                node_id TEXT NOT NULL,
                stream TEXT NOT NULL,
                period_start_ms INTEGER NOT NULL,
                kind TEXT NOT NULL,
                claimed INTEGER NOT NULL,
                counted INTEGER NOT NULL,
                evidence INTEGER NOT NULL,
                first_ms INTEGER NOT NULL,
                last_ms INTEGER NOT NULL,
                PRIMARY KEY (node_id, stream, period_start_ms, kind)
            ) STRICT, WITHOUT ROWID;
            """),
        // Money. The ledger is append-only double entry: triggers refuse UPDATE and DELETE on
        // entries and lines, every entry carries a hash chained to the one before it, and
        // balances are sums of lines, never stored. Closed periods and their per-node results
        // are immutable too (a late fact is ignored and logged, a late fraud flag is a
        // reversal in the ledger, never an edit). A payout batch's id is stored here before
        // its ledger entry is written, so `payout create` after a crash finishes that batch
        // instead of making a second one. The validator's tables (checks, fraud_flags,
        // validator_coverage) are made by its migration; `IF NOT EXISTS` keeps this one
        // independent of the order the two arrived in.
        Migration(version: 9, sql: """
            CREATE TABLE ledger_entries (
                sequence INTEGER PRIMARY KEY,
                id TEXT NOT NULL UNIQUE,
                kind TEXT NOT NULL,
                at_ms INTEGER NOT NULL,
                memo TEXT NOT NULL,
                reverses TEXT,
                hash BLOB NOT NULL
            ) STRICT;
            CREATE TABLE ledger_lines (
                sequence INTEGER NOT NULL REFERENCES ledger_entries(sequence),
                line_no INTEGER NOT NULL,
                account TEXT NOT NULL,
                currency TEXT NOT NULL,
                amount INTEGER NOT NULL,
                PRIMARY KEY (sequence, line_no)
            ) STRICT, WITHOUT ROWID;
            CREATE INDEX ledger_lines_by_account ON ledger_lines(account, currency);
            CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
            CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
            CREATE TRIGGER ledger_lines_no_update BEFORE UPDATE ON ledger_lines BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
            CREATE TRIGGER ledger_lines_no_delete BEFORE DELETE ON ledger_lines BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;

            CREATE TABLE period_closes (
                stream TEXT NOT NULL,
                start_ms INTEGER NOT NULL,
                end_ms INTEGER NOT NULL,
                closed_ms INTEGER NOT NULL,
                pool_minor INTEGER NOT NULL,
                currency TEXT NOT NULL,
                unspent_minor INTEGER NOT NULL,
                summary TEXT NOT NULL,
                PRIMARY KEY (stream, start_ms)
            ) STRICT;
            CREATE TABLE period_results (
                stream TEXT NOT NULL,
                start_ms INTEGER NOT NULL,
                node_id TEXT NOT NULL,
                uptime_ms INTEGER NOT NULL,
                verified_ms INTEGER NOT NULL,
                checks_passed INTEGER NOT NULL,
                checks_failed INTEGER NOT NULL,
                quality_ppm INTEGER NOT NULL,
                penalty_ppm INTEGER NOT NULL,
                weight TEXT NOT NULL,
                amount_minor INTEGER NOT NULL,
                flagged INTEGER NOT NULL,
                explanation TEXT NOT NULL,
                PRIMARY KEY (stream, start_ms, node_id)
            ) STRICT, WITHOUT ROWID;
            CREATE INDEX period_results_by_node ON period_results(node_id, start_ms);
            CREATE TRIGGER period_closes_immutable BEFORE UPDATE ON period_closes BEGIN SELECT RAISE(ABORT, 'a closed period is immutable'); END;
            CREATE TRIGGER period_closes_kept BEFORE DELETE ON period_closes BEGIN SELECT RAISE(ABORT, 'a closed period is immutable'); END;
            CREATE TRIGGER period_results_immutable BEFORE UPDATE ON period_results BEGIN SELECT RAISE(ABORT, 'a closed period is immutable'); END;
            CREATE TRIGGER period_results_kept BEFORE DELETE ON period_results BEGIN SELECT RAISE(ABORT, 'a closed period is immutable'); END;

            CREATE TABLE payout_batches (
                id TEXT PRIMARY KEY,
                currency TEXT NOT NULL,
                minimum_minor INTEGER NOT NULL,
                created_ms INTEGER NOT NULL
            ) STRICT;
            CREATE TABLE payout_rows (
                batch TEXT NOT NULL REFERENCES payout_batches(id),
                node_id TEXT NOT NULL,
                display_name TEXT NOT NULL,
                handle TEXT NOT NULL,
                amount_minor INTEGER NOT NULL,
                PRIMARY KEY (batch, node_id)
            ) STRICT, WITHOUT ROWID;
            CREATE TRIGGER payout_rows_immutable BEFORE UPDATE ON payout_rows BEGIN SELECT RAISE(ABORT, 'payout batches are append-only'); END;
            CREATE TRIGGER payout_rows_kept BEFORE DELETE ON payout_rows BEGIN SELECT RAISE(ABORT, 'payout batches are append-only'); END;
            CREATE TRIGGER payout_batches_immutable BEFORE UPDATE ON payout_batches BEGIN SELECT RAISE(ABORT, 'payout batches are append-only'); END;
            CREATE TRIGGER payout_batches_kept BEFORE DELETE ON payout_batches BEGIN SELECT RAISE(ABORT, 'payout batches are append-only'); END;

            CREATE TABLE IF NOT EXISTS checks (
                id INTEGER PRIMARY KEY,
                report_id TEXT NOT NULL UNIQUE,
                node_id TEXT NOT NULL,
                stream TEXT NOT NULL,
                chain_id INTEGER NOT NULL DEFAULT 0,
                chunk_seq INTEGER NOT NULL DEFAULT 0,
                kind TEXT NOT NULL DEFAULT 'chunk',
                passed INTEGER NOT NULL CHECK (passed IN (0, 1)),
                verdict TEXT NOT NULL DEFAULT '',
                reason TEXT NOT NULL DEFAULT '',
                ttfb_ms INTEGER NOT NULL DEFAULT 0,
                throughput_bps INTEGER NOT NULL DEFAULT 0,
                bytes INTEGER NOT NULL DEFAULT 0,
                checked_ms INTEGER NOT NULL,
                received_ms INTEGER NOT NULL
            ) STRICT;
            CREATE INDEX IF NOT EXISTS checks_by_node ON checks(node_id, checked_ms);
            CREATE TABLE IF NOT EXISTS fraud_flags (
                id INTEGER PRIMARY KEY,
                node_id TEXT NOT NULL,
                stream TEXT NOT NULL,
                at_ms INTEGER NOT NULL,
                reason TEXT NOT NULL,
                evidence TEXT NOT NULL DEFAULT '',
                cleared_ms INTEGER,
                cleared_note TEXT
            ) STRICT;
            CREATE INDEX IF NOT EXISTS fraud_flags_by_node ON fraud_flags(node_id, at_ms);
            CREATE TABLE IF NOT EXISTS validator_coverage (
                start_ms INTEGER NOT NULL,
                end_ms INTEGER NOT NULL,
                PRIMARY KEY (start_ms)
            ) STRICT;
            CREATE TABLE IF NOT EXISTS pause_intervals (
                node_id TEXT NOT NULL,
                start_ms INTEGER NOT NULL,
                end_ms INTEGER NOT NULL CHECK (end_ms >= start_ms),
                closed INTEGER NOT NULL DEFAULT 0 CHECK (closed IN (0, 1)),
                PRIMARY KEY (node_id, start_ms)
            ) STRICT, WITHOUT ROWID;
            """),
        // One row per heartbeat: its per-stream counters as a JSON array in the row
        // ([{"stream","viewers","bytes_served","last_chunk_seq"}], readable with json_each)
        // instead of a row each in heartbeat_streams. A node's last seq and heartbeat time now
        // come from its sessions (nodes.last_seq keeps what pruning removed).
        Migration(version: 10, sql: """
            ALTER TABLE heartbeats ADD COLUMN streams TEXT NOT NULL DEFAULT '[]';
            UPDATE heartbeats SET streams = coalesce((
                SELECT json_group_array(json_object('stream', h.stream, 'viewers', h.viewers,
                                                    'bytes_served', h.bytes_served, 'last_chunk_seq', h.last_chunk_seq))
                FROM heartbeat_streams h WHERE h.node_id = heartbeats.node_id AND h.seq = heartbeats.seq), '[]');
            DROP TABLE heartbeat_streams;
            """),
    ]
}
