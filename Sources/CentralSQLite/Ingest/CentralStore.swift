import CentralIngest
import Foundation
import GRDB
import MillwrightCore

/// The central's SQLite store: events deduplicated on (edge, boot_epoch, seq), per-edge
/// tracking, and refused batches kept raw for operators.
public final class CentralStore: Sendable {
    public struct StoreError: Error, CustomStringConvertible {
        public let description: String
    }

    public let path: String
    /// When the ingest last committed: a retention run paces itself by it (`RetentionPacing`).
    public let ingestActivity = IngestActivity()
    package let pool: DatabasePool

    public init(path: String) throws(StoreError) {
        self.path = path
        do {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            pool = try SQLitePool.open(path: path, busyTimeout: 5)
            try Self.migrator.migrate(pool)
        } catch {
            throw StoreError(description: "cannot open the central store at \(path): \(error). Check that data_dir is writable.")
        }
        let moved: (target: String, at: Timestamp)?
        do { moved = try pool.read(Self.movedTo) } catch {
            throw StoreError(description: "cannot read the central store at \(path): \(error)")
        }
        if let moved {
            throw StoreError(description: """
                the central store at \(path) was moved to \(moved.target) at \(moved.at.rfc3339) (millwright-central migrate-store): \
                run the central with the configuration that names that store. This file is kept as a backup; to use it \
                again instead, run: sqlite3 \(path) 'DELETE FROM store_moved'
                """)
        }
    }

    /// Where `migrate-store` moved this file's data, and when; nil while the file is in use.
    static func movedTo(_ db: Database) throws -> (target: String, at: Timestamp)? {
        try Row.fetchOne(db, sql: "SELECT target, moved_at FROM store_moved").map { ($0["target"], Timestamp(milliseconds: $0["moved_at"])) }
    }

    /// Marks the file as moved to another store, inside the caller's write transaction on `db` (the
    /// migration's): every later open refuses it with where the data went.
    package static func markMoved(_ db: Database, to target: String, at: Timestamp) throws {
        try db.execute(sql: "INSERT INTO store_moved (target, moved_at) VALUES (?, ?)", arguments: [target, at.milliseconds])
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1: events, edges, rejected batches") { db in
            try db.execute(sql: """
                CREATE TABLE events (
                    id INTEGER PRIMARY KEY,
                    edge TEXT NOT NULL,
                    boot_epoch INTEGER NOT NULL,
                    seq INTEGER NOT NULL,
                    event_id TEXT NOT NULL,
                    site TEXT NOT NULL,
                    equipment TEXT NOT NULL,
                    signal TEXT NOT NULL,
                    type TEXT NOT NULL,
                    priority INTEGER NOT NULL,
                    occurred_at INTEGER NOT NULL,
                    edge_received_at INTEGER NOT NULL,
                    central_received_at INTEGER NOT NULL,
                    is_historical INTEGER NOT NULL,
                    body TEXT NOT NULL
                );
                CREATE UNIQUE INDEX events_key ON events(edge, boot_epoch, seq);
                CREATE TABLE edges (
                    edge TEXT PRIMARY KEY,
                    site TEXT NOT NULL,
                    first_seen INTEGER NOT NULL,
                    last_seen INTEGER NOT NULL,
                    last_epoch INTEGER NOT NULL DEFAULT 0,
                    last_seq INTEGER NOT NULL DEFAULT 0,
                    events INTEGER NOT NULL DEFAULT 0,
                    duplicates INTEGER NOT NULL DEFAULT 0,
                    batches INTEGER NOT NULL DEFAULT 0,
                    gap_events INTEGER NOT NULL DEFAULT 0,
                    dropped_reported INTEGER NOT NULL DEFAULT 0,
                    status TEXT,
                    status_at INTEGER
                ) WITHOUT ROWID;
                CREATE TABLE rejected_batches (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    at INTEGER NOT NULL,
                    topic TEXT NOT NULL,
                    reason TEXT NOT NULL,
                    payload BLOB NOT NULL
                );
                """)
        }
        m.registerMigration("v2: refusal reason kinds") { db in
            try db.execute(sql: "ALTER TABLE rejected_batches ADD COLUMN kind TEXT NOT NULL DEFAULT 'unknown'")
        }
        m.registerMigration("v3: edge clock offsets learned at commit, event-time index") { db in
            // Offsets were computed by the synchronisation's pass (its edge_clocks table, now unused);
            // the ingest learns them as it stores, from what is already there.
            try db.execute(sql: """
                CREATE TABLE edge_clock_offsets (
                    edge TEXT NOT NULL,
                    boot_epoch INTEGER NOT NULL,
                    offset_ms INTEGER NOT NULL,
                    samples INTEGER NOT NULL,
                    PRIMARY KEY (edge, boot_epoch)
                ) WITHOUT ROWID;
                INSERT INTO edge_clock_offsets (edge, boot_epoch, offset_ms, samples)
                    SELECT edge, boot_epoch, MIN(central_received_at - edge_received_at), COUNT(*) FROM events
                    WHERE is_historical = 0 AND type != 'gap' GROUP BY edge, boot_epoch;
                CREATE INDEX IF NOT EXISTS events_equipment_time ON events(equipment, occurred_at);
                """)
        }
        m.registerMigration("v4: moved-store marker") { db in
            try db.execute(sql: "CREATE TABLE store_moved (target TEXT NOT NULL, moved_at INTEGER NOT NULL)")
        }
        m.registerMigration("v5: retention (type and time index, holds, runs)") { db in
            // Retention finds a type's expired events by event time without scanning the table.
            try db.execute(sql: """
                CREATE INDEX IF NOT EXISTS events_type_time ON events(type, occurred_at);
                CREATE TABLE retention_holds (
                    id INTEGER PRIMARY KEY,
                    site TEXT NOT NULL,
                    from_ms INTEGER NOT NULL,
                    to_ms INTEGER NOT NULL,
                    until_ms INTEGER NOT NULL,
                    reason TEXT NOT NULL
                );
                CREATE TABLE retention_runs (
                    id INTEGER PRIMARY KEY,
                    started_at INTEGER NOT NULL,
                    finished_at INTEGER NOT NULL,
                    deleted TEXT NOT NULL,
                    archived INTEGER NOT NULL,
                    kept INTEGER NOT NULL,
                    error TEXT
                );
                """)
        }
        return m
    }

    /// Stores valid batches and refused ones in one transaction; returns per batch how many
    /// events were new and how many were already there.
    public func commit(_ batches: [ValidBatch], rejected: [RejectedBatch], now: Timestamp) throws -> [(inserted: Int, duplicates: Int)] {
        defer { ingestActivity.noteCommit() }
        return try pool.write { db in
            // A central left running while `migrate-store` moved the file stores (and acknowledges)
            // nothing after the move: the edges send those batches again, to the new store.
            if let moved = try Self.movedTo(db) {
                throw StoreError(description: "\(path) was moved to \(moved.target) (migrate-store): stop this central and start it with the new configuration")
            }
            let insert = try db.cachedStatement(sql: """
                INSERT OR IGNORE INTO events (edge, boot_epoch, seq, event_id, site, equipment, signal, type, priority,
                    occurred_at, edge_received_at, central_received_at, is_historical, body)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            let edge = try db.cachedStatement(sql: """
                INSERT INTO edges (edge, site, first_seen, last_seen, last_epoch, last_seq, events, duplicates, batches, gap_events, dropped_reported)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(edge) DO UPDATE SET
                    last_seen = excluded.last_seen,
                    last_epoch = max(last_epoch, excluded.last_epoch),
                    last_seq = max(last_seq, excluded.last_seq),
                    events = events + excluded.events,
                    duplicates = duplicates + excluded.duplicates,
                    batches = batches + excluded.batches,
                    gap_events = gap_events + excluded.gap_events,
                    dropped_reported = dropped_reported + excluded.dropped_reported
                """)
            let clock = try db.cachedStatement(sql: """
                INSERT INTO edge_clock_offsets (edge, boot_epoch, offset_ms, samples) VALUES (?, ?, ?, ?)
                ON CONFLICT(edge, boot_epoch) DO UPDATE SET offset_ms = min(offset_ms, excluded.offset_ms), samples = samples + excluded.samples
                """)
            var tally = EdgeCommitTally(batches)
            var results: [(Int, Int)] = []
            for b in batches {
                var inserted = 0
                for e in b.events {
                    try insert.execute(arguments: [
                        e.edge, e.bootEpoch, e.seq, e.eventID, e.site, e.equipment, e.signal, e.type.rawValue, e.priority.rank,
                        e.occurredAt.milliseconds, e.edgeReceivedAt.milliseconds, now.milliseconds, e.isHistorical, e.body,
                    ])
                    if db.changesCount > 0 {
                        inserted += 1
                        tally.stored(e, in: b, now: now)
                    }
                }
                results.append((inserted, b.events.count - inserted))
            }
            for (name, t) in tally.sorted {
                try edge.execute(arguments: [name, t.site, now.milliseconds, now.milliseconds, t.lastEpoch, t.lastSeq,
                                             t.inserted, t.duplicates, t.batches, t.gapEvents, t.dropped])
            }
            for c in tally.clocks.sorted {
                try clock.execute(arguments: [c.edge, c.bootEpoch, c.offset, c.samples])
            }
            for r in rejected {
                try db.execute(sql: "INSERT INTO rejected_batches (at, topic, kind, reason, payload) VALUES (?, ?, ?, ?, ?)",
                               arguments: [now.milliseconds, r.topic, r.kind.rawValue, r.reason, Data(r.payload)])
            }
            return results
        }
    }

    public func recordStatus(edge: String, site: String, json: String, at: Timestamp) throws {
        try pool.write { db in
            try db.execute(sql: """
                INSERT INTO edges (edge, site, first_seen, last_seen, status, status_at) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(edge) DO UPDATE SET status = excluded.status, status_at = excluded.status_at
                """, arguments: [edge, site, at.milliseconds, at.milliseconds, json, at.milliseconds])
        }
    }

    public func edges() throws -> [EdgeRecord] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM edges ORDER BY site, edge").map { row in
                EdgeRecord(edge: row["edge"], site: row["site"], firstSeen: Timestamp(milliseconds: row["first_seen"]),
                           lastSeen: Timestamp(milliseconds: row["last_seen"]), lastEpoch: row["last_epoch"], lastSeq: row["last_seq"],
                           events: row["events"], duplicates: row["duplicates"], batches: row["batches"],
                           gapEvents: row["gap_events"], droppedReported: row["dropped_reported"], status: row["status"])
            }
        }
    }

    /// The writer's `PRAGMA synchronous`: 2 is FULL.
    public func synchronousMode() throws -> Int {
        try pool.writeWithoutTransaction { try Int.fetchOne($0, sql: "PRAGMA synchronous") ?? -1 }
    }

    public func eventCount() throws -> Int { try pool.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM events") ?? 0 } }
    /// Refused batches per reason kind, as kept in `rejected_batches`.
    public func rejectedByReason() throws -> [String: Int] {
        try pool.read { db in
            var out: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT kind, COUNT(*) AS n FROM rejected_batches GROUP BY kind") {
                out[row["kind"]] = row["n"]
            }
            return out
        }
    }

    // MARK: reading events back

    /// Events after row `after` (row order is commit order: one writer), filtered, at most `limit`.
    public func events(after: Int64, _ filter: FeedFilter, limit: Int) throws -> [FeedEvent] {
        try read(where: "id > ?", [after], filter, suffix: "ORDER BY id LIMIT \(max(0, limit))")
    }

    public func events(occurredSince since: Timestamp, _ filter: FeedFilter) throws -> [FeedEvent] {
        try read(where: "occurred_at >= ?", [since.milliseconds], filter)
    }

    public func events(occurredFrom from: Timestamp, before: Timestamp, _ filter: FeedFilter) throws -> [FeedEvent] {
        try read(where: "occurred_at >= ? AND occurred_at < ?", [from.milliseconds, before.milliseconds], filter)
    }

    public func event(edge: String, bootEpoch: Int64, seq: Int64) throws -> FeedEvent? {
        try read(where: "edge = ? AND boot_epoch = ? AND seq = ?", [edge, bootEpoch, seq], .all).first
    }

    func read(where condition: String, _ arguments: StatementArguments, _ filter: FeedFilter, suffix: String = "") throws -> [FeedEvent] {
        if filter.isEmpty { return [] }
        var sql = "SELECT id, edge, boot_epoch, seq, equipment, signal, type, occurred_at, central_received_at, body FROM events WHERE \(condition)"
        var args = arguments
        if let e = filter.equipment {
            sql += " AND equipment IN (\(databaseQuestionMarks(count: e.count)))"
            args += StatementArguments(e)
        }
        if let t = filter.types {
            sql += " AND type IN (\(databaseQuestionMarks(count: t.count)))"
            args += StatementArguments(t.map(\.rawValue))
        }
        return try pool.read { db in
            try Row.fetchAll(db, sql: sql + " " + suffix, arguments: args).map { r in
                let typeName: String = r["type"]
                // The ingest stores only types it decoded; anything else is damage to say, not to skip.
                guard let type = EventType(rawValue: typeName) else {
                    throw StoreError(description: "stored event \(r["id"] as Int64) has the unknown type \"\(typeName)\"")
                }
                return FeedEvent(position: FeedPosition(row: r["id"]), edge: r["edge"], bootEpoch: r["boot_epoch"], seq: r["seq"],
                          equipment: r["equipment"], signal: r["signal"], type: type,
                          occurredAt: Timestamp(milliseconds: r["occurred_at"]),
                          centralReceivedAt: Timestamp(milliseconds: r["central_received_at"]), body: r["body"])
            }
        }
    }

    public func edgeClockOffsets() throws -> [String: Int64] {
        try pool.read { db in
            var out: [String: Int64] = [:]
            for r in try Row.fetchAll(db, sql: "SELECT edge, boot_epoch, offset_ms FROM edge_clock_offsets") {
                out["\(r["edge"] as String):\(r["boot_epoch"] as Int64)"] = r["offset_ms"]
            }
            return out
        }
    }
}
