import Logging
import PostgresNIO

/// The PostgreSQL schema, as named steps applied once each and never edited once shipped.
///
/// Why an advisory lock: several replicas may start at the same moment; the first to take the
/// lock migrates, the others wait and then find every step applied.
package enum PostgresMigrations {
    package static let steps: [(name: String, sql: [String])] = [
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
        // Retention finds a type's expired events by event time; holds keep loaded archives;
        // each run is recorded for `status`.
        ("retention v1: type and time index, holds, runs", [
            "CREATE INDEX IF NOT EXISTS events_type_time ON events (type, occurred_at)",
            """
            CREATE TABLE retention_holds (
                id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                site TEXT NOT NULL,
                from_ms BIGINT NOT NULL,
                to_ms BIGINT NOT NULL,
                until_ms BIGINT NOT NULL,
                reason TEXT NOT NULL
            )
            """,
            """
            CREATE TABLE retention_runs (
                id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                started_at BIGINT NOT NULL,
                finished_at BIGINT NOT NULL,
                deleted TEXT NOT NULL,
                archived BIGINT NOT NULL,
                kept BIGINT NOT NULL,
                error TEXT
            )
            """,
        ]),
        // Retention drops a class's month at once: `events` is partitioned by type (a partition per
        // retention class, listing its types: RetentionClass) and each class by month of event
        // time, with a default partition per class for months not made yet (and a top default for a
        // type no class lists). The key includes the partition key: (edge, boot_epoch, seq, type,
        // occurred_at) is as unique as (edge, boot_epoch, seq), since a resent event carries the same
        // type and time. The stored events move over in this step (OVERRIDING their ids).
        ("retention v2: events partitioned by class and month", [
            "ALTER TABLE events RENAME TO events_unpartitioned",
            "ALTER INDEX events_pkey RENAME TO events_unpartitioned_pkey",
            "ALTER INDEX events_key RENAME TO events_unpartitioned_key",
            "ALTER INDEX events_feed RENAME TO events_unpartitioned_feed",
            "ALTER INDEX events_equipment_time RENAME TO events_unpartitioned_equipment_time",
            "ALTER INDEX events_type_time RENAME TO events_unpartitioned_type_time",
            """
            CREATE TABLE events (
                id BIGINT GENERATED ALWAYS AS IDENTITY,
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
                txid BIGINT NOT NULL DEFAULT feed_txid(),
                PRIMARY KEY (id, type, occurred_at),
                CONSTRAINT events_key UNIQUE (edge, boot_epoch, seq, type, occurred_at)
            ) PARTITION BY LIST (type)
            """,
            "CREATE TABLE events_alarms PARTITION OF events FOR VALUES IN ('limit_raised', 'limit_cleared', 'rate_raised', 'rate_cleared', 'stale', 'recovered') PARTITION BY RANGE (occurred_at)",
            "CREATE TABLE events_counts PARTITION OF events FOR VALUES IN ('count') PARTITION BY RANGE (occurred_at)",
            "CREATE TABLE events_states PARTITION OF events FOR VALUES IN ('state_changed', 'downtime') PARTITION BY RANGE (occurred_at)",
            "CREATE TABLE events_summaries PARTITION OF events FOR VALUES IN ('summary', 'value_reported') PARTITION BY RANGE (occurred_at)",
            "CREATE TABLE events_gaps PARTITION OF events FOR VALUES IN ('gap') PARTITION BY RANGE (occurred_at)",
            "CREATE TABLE events_alarms_default PARTITION OF events_alarms DEFAULT",
            "CREATE TABLE events_counts_default PARTITION OF events_counts DEFAULT",
            "CREATE TABLE events_states_default PARTITION OF events_states DEFAULT",
            "CREATE TABLE events_summaries_default PARTITION OF events_summaries DEFAULT",
            "CREATE TABLE events_gaps_default PARTITION OF events_gaps DEFAULT",
            "CREATE TABLE events_other PARTITION OF events DEFAULT",
            // A class's months from `from_ms` to `to_ms` (UTC), made when missing: the rows of a
            // month already in the class's default partition move into it first, so it attaches.
            """
            CREATE FUNCTION event_month_partitions(class TEXT, from_ms BIGINT, to_ms BIGINT) RETURNS integer LANGUAGE plpgsql AS $$
            DECLARE
                m timestamptz := date_trunc('month', to_timestamp(from_ms / 1000.0), 'UTC');
                lo bigint;
                hi bigint;
                part text;
                made integer := 0;
            BEGIN
                WHILE extract(epoch FROM m) * 1000 < to_ms LOOP
                    lo := (extract(epoch FROM m) * 1000)::bigint;
                    hi := (extract(epoch FROM m + interval '1 month') * 1000)::bigint;
                    part := format('events_%s_y%sm%s', class, to_char(m AT TIME ZONE 'UTC', 'YYYY'), to_char(m AT TIME ZONE 'UTC', 'MM'));
                    IF to_regclass(part) IS NULL THEN
                        EXECUTE format('CREATE TABLE %I (LIKE events INCLUDING DEFAULTS)', part);
                        EXECUTE format('WITH moved AS (DELETE FROM %I WHERE occurred_at >= %s AND occurred_at < %s RETURNING *) INSERT INTO %I SELECT * FROM moved',
                                       'events_' || class || '_default', lo, hi, part);
                        EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%s) TO (%s)', 'events_' || class, part, lo, hi);
                        made := made + 1;
                    END IF;
                    m := m + interval '1 month';
                END LOOP;
                RETURN made;
            END $$
            """,
            """
            SELECT event_month_partitions(c, (extract(epoch FROM now() - interval '25 months') * 1000)::bigint,
                                          (extract(epoch FROM now() + interval '3 months') * 1000)::bigint)
            FROM unnest(ARRAY['alarms', 'counts', 'states', 'summaries', 'gaps']) AS c
            """,
            """
            INSERT INTO events (id, edge, boot_epoch, seq, event_id, site, equipment, signal, type, priority, occurred_at,
                edge_received_at, central_received_at, is_historical, body, txid)
            OVERRIDING SYSTEM VALUE
            SELECT id, edge, boot_epoch, seq, event_id, site, equipment, signal, type, priority, occurred_at,
                edge_received_at, central_received_at, is_historical, body, txid
            FROM events_unpartitioned
            """,
            "SELECT setval(pg_get_serial_sequence('events', 'id'), COALESCE((SELECT max(id) FROM events), 0) + 1, false)",
            "DROP TABLE events_unpartitioned",
            "CREATE INDEX events_feed ON events (txid, id)",
            "CREATE INDEX events_equipment_time ON events (equipment, occurred_at)",
            "CREATE INDEX events_type_time ON events (type, occurred_at)",
        ]),
        // Every claim on a posting raises its generation, so a write under a claim lost to
        // another replica is refused (PostgresSyncState.record).
        ("sync v3: posting claim generations", [
            "ALTER TABLE postings ADD COLUMN IF NOT EXISTS claim_generation BIGINT NOT NULL DEFAULT 0",
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
