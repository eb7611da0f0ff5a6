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
        }
    }
}
