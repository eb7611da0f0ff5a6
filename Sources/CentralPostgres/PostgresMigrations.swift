import Logging
import PostgresNIO

/// The PostgreSQL schema, as named steps applied once each and never edited once shipped.
///
/// Why an advisory lock: several replicas may start at the same moment; the first to take the
/// lock migrates, the others wait and then find every step applied.
enum PostgresMigrations {
    static let steps: [(name: String, sql: [String])] = [
        ("ingest v1: events, edges, refused batches", [
            """
            CREATE TABLE events (
                id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                edge TEXT NOT NULL,
                boot_epoch BIGINT NOT NULL,
                seq BIGINT NOT NULL,
                event_id TEXT NOT NULL,
                site TEXT NOT NULL,
                equipment TEXT NOT NULL,
                signal TEXT NOT NULL,
                type TEXT NOT NULL,
                priority INTEGER NOT NULL,
                occurred_at BIGINT NOT NULL,
                edge_received_at BIGINT NOT NULL,
                central_received_at BIGINT NOT NULL,
                is_historical BOOLEAN NOT NULL,
                body TEXT NOT NULL,
                CONSTRAINT events_key UNIQUE (edge, boot_epoch, seq)
            )
            """,
            """
            CREATE TABLE edges (
                edge TEXT PRIMARY KEY,
                site TEXT NOT NULL,
                first_seen BIGINT NOT NULL,
                last_seen BIGINT NOT NULL,
                last_epoch BIGINT NOT NULL DEFAULT 0,
                last_seq BIGINT NOT NULL DEFAULT 0,
                events BIGINT NOT NULL DEFAULT 0,
                duplicates BIGINT NOT NULL DEFAULT 0,
                batches BIGINT NOT NULL DEFAULT 0,
                gap_events BIGINT NOT NULL DEFAULT 0,
                dropped_reported BIGINT NOT NULL DEFAULT 0,
                status TEXT,
                status_at BIGINT
            )
            """,
            """
            CREATE TABLE rejected_batches (
                id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                at BIGINT NOT NULL,
                topic TEXT NOT NULL,
                kind TEXT NOT NULL,
                reason TEXT NOT NULL,
                payload BYTEA NOT NULL
            )
            """,
        ]),
        ("ingest v2: commit-order feed, edge clock offsets, event-time index", [
            // The inserting transaction's id: readers follow (txid, id) and only read transactions
            // older than every one still running, so a late commit is never skipped.
            "ALTER TABLE events ADD COLUMN txid BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint)",
            "CREATE INDEX events_feed ON events (txid, id)",
            "CREATE INDEX events_equipment_time ON events (equipment, occurred_at)",
            """
            CREATE TABLE edge_clock_offsets (
                edge TEXT NOT NULL,
                boot_epoch BIGINT NOT NULL,
                offset_ms BIGINT NOT NULL,
                samples BIGINT NOT NULL,
                PRIMARY KEY (edge, boot_epoch)
            )
            """,
        ]),
        ("sync v1: master data, assignments, cursors, postings, audit, review, health, unassigned", [
            """
            CREATE TABLE erp_orders (
                id BIGINT PRIMARY KEY,
                number TEXT NOT NULL,
                reference TEXT NOT NULL,
                state TEXT NOT NULL,
                body TEXT NOT NULL,
                imported_at BIGINT NOT NULL,
                closed_seen_at BIGINT
            )
            """,
            """
            CREATE TABLE assignment_changes (
                id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                equipment TEXT NOT NULL,
                order_ref TEXT NOT NULL,
                operation TEXT NOT NULL DEFAULT '',
                action TEXT NOT NULL,
                at BIGINT NOT NULL,
                source TEXT NOT NULL,
                received_at BIGINT NOT NULL,
                operator TEXT,
                CONSTRAINT assignment_changes_key UNIQUE (equipment, order_ref, operation, action, at)
            )
            """,
            "CREATE TABLE cursors (name TEXT PRIMARY KEY, txid BIGINT NOT NULL, row_id BIGINT NOT NULL)",
            """
            CREATE TABLE postings (
                id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                idempotency_key TEXT NOT NULL UNIQUE,
                target TEXT NOT NULL,
                kind TEXT NOT NULL,
                line TEXT NOT NULL DEFAULT '',
                order_id BIGINT,
                quantity DOUBLE PRECISION NOT NULL DEFAULT 0,
                payload TEXT NOT NULL,
                sources TEXT[] NOT NULL,
                status TEXT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                next_attempt_at BIGINT NOT NULL,
                document_ref TEXT,
                last_error TEXT,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                claimed_by TEXT,
                claim_until BIGINT
            )
            """,
            "CREATE INDEX postings_due ON postings (status, next_attempt_at)",
            "CREATE INDEX postings_line ON postings (line)",
            "CREATE INDEX postings_document ON postings (document_ref)",
            "CREATE INDEX postings_sources ON postings USING GIN (sources)",
            """
            CREATE TABLE posting_audit (
                id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                posting_id BIGINT NOT NULL,
                at BIGINT NOT NULL,
                actor TEXT NOT NULL,
                action TEXT NOT NULL,
                detail TEXT NOT NULL
            )
            """,
            "CREATE INDEX posting_audit_posting ON posting_audit (posting_id, id)",
            """
            CREATE TABLE review_items (
                line TEXT PRIMARY KEY,
                order_id BIGINT NOT NULL,
                kind TEXT NOT NULL,
                quantity DOUBLE PRECISION NOT NULL,
                reason TEXT NOT NULL,
                sources TEXT[] NOT NULL,
                first_seen BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE target_health (
                target TEXT PRIMARY KEY,
                breaker TEXT NOT NULL,
                consecutive_failures INTEGER NOT NULL,
                last_success BIGINT,
                last_failure BIGINT,
                last_error TEXT
            )
            """,
            """
            CREATE TABLE unassigned_spans (
                equipment TEXT NOT NULL,
                kind TEXT NOT NULL,
                material TEXT NOT NULL,
                after_ms BIGINT,
                before_ms BIGINT,
                from_ms BIGINT NOT NULL,
                to_ms BIGINT NOT NULL,
                quantity DOUBLE PRECISION NOT NULL,
                sources TEXT[] NOT NULL,
                first_seen BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            )
            """,
        ]),
        ("sync v2: leases", [
            "CREATE TABLE leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, token BIGINT NOT NULL, expires_at BIGINT NOT NULL)",
        ]),
        // Transaction ids belong to the PostgreSQL cluster, not to the database: restored (pg_dump,
        // pg_restore) into another cluster, the stored rows keep ids that the new cluster will not
        // reach for a long time, and new events would sort before every saved cursor and never be
        // read. The feed's ids are the cluster's plus an offset that start-up raises past the
        // highest stored one (`rebaseFeed`).
        ("ingest v3: feed offset for restores into another cluster", [
            "CREATE TABLE feed_offset (single BOOLEAN PRIMARY KEY DEFAULT true CHECK (single), value BIGINT NOT NULL)",
            "INSERT INTO feed_offset (single, value) VALUES (true, 0)",
            """
            CREATE FUNCTION feed_txid() RETURNS bigint LANGUAGE sql STABLE AS
            $$ SELECT pg_current_xact_id()::text::bigint + (SELECT value FROM feed_offset) $$
            """,
            """
            CREATE FUNCTION feed_horizon() RETURNS bigint LANGUAGE sql STABLE AS
            $$ SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint + (SELECT value FROM feed_offset) $$
            """,
            "ALTER TABLE events ALTER COLUMN txid SET DEFAULT feed_txid()",
        ]),
    ]

    static func migrate(_ db: PostgresDatabase) async throws {
        try await db.transaction { c in
            // One migrator at a time across every replica (released at commit).
            try await c.query("SELECT pg_advisory_xact_lock(4242001)", logger: db.logger)
            try await c.query("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
                              logger: db.logger)
            var applied = Set<String>()
            for try await name in try await c.query("SELECT name FROM schema_migrations", logger: db.logger).decode(String.self) {
                applied.insert(name)
            }
            for step in steps where !applied.contains(step.name) {
                for sql in step.sql {
                    try await c.query(PostgresQuery(unsafeSQL: sql), logger: db.logger)
                }
                try await c.query("INSERT INTO schema_migrations (name) VALUES (\(step.name))", logger: db.logger)
                db.logger.info("PostgreSQL schema migrated", metadata: ["step": "\(step.name)"])
            }
            try await rebaseFeed(c, db.logger)
        }
    }

    /// After a restore into another cluster the stored feed ids may be ahead of the ones this
    /// cluster hands out: raise the offset so every new id sorts after every stored one (a no-op
    /// otherwise). Runs under the migration lock, before this process writes anything.
    static func rebaseFeed(_ c: LiveConnection, _ logger: Logger) async throws {
        let rows = try await c.query("""
            UPDATE feed_offset SET value = stored.top - pg_current_xact_id()::text::bigint + 1
            FROM (SELECT max(txid) AS top FROM events) AS stored
            WHERE stored.top >= feed_txid()
            RETURNING value
            """, logger: logger)
        for try await value in rows.decode(Int64.self) {
            logger.notice("the events' feed ids are ahead of this PostgreSQL cluster's transaction ids (restored from another cluster?): feed offset raised",
                          metadata: ["offset": "\(value)"])
        }
    }
}
