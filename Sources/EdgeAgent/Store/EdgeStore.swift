import EdgeConfig
import EdgeRules
import Foundation
import GRDB
import MillwrightCore
import Synchronization

/// The edge's SQLite store: the outbox of promoted events, rule state, quarantine samples.
///
/// One write transaction per batch (group commit): events, the rule state that produced
/// them, and quarantine samples land together or not at all.
public final class EdgeStore: Sendable {
    public enum StoreError: Error, CustomStringConvertible {
        case cannotOpen(path: String, reason: String)
        case writeFailed(reason: String)
        /// An outbox row that cannot be sent as stored (the uplink logs it and retries).
        case corruptRow(seq: Int64, reason: String)

        public var description: String {
            switch self {
            case .cannotOpen(let path, let reason):
                return "cannot open the edge store at \(path): \(reason). Check that data_dir exists and is writable."
            case .writeFailed(let reason):
                return "writing to the edge store failed: \(reason). Events stay in memory and are retried."
            case .corruptRow(let seq, let reason):
                return "outbox row \(seq) cannot be sent: \(reason)"
            }
        }
    }

    public let path: String
    let pool: DatabasePool
    let limits: OutboxConfig
    /// Site and edge, for the gap records the store writes itself.
    let identity: (site: String, edge: String)
    /// Never repeats for this edge, even if the outbox file is recreated (see `nextEpoch`).
    public let bootEpoch: Int64
    /// Outbox size, kept in step with every insert and delete (all inside write transactions).
    let totals: Mutex<OutboxTotals>
    /// Whether `pending_gaps` has rows, so the uplink checks the table only when it must.
    let gapsPending: Mutex<Bool>
    /// False while this boot's epoch is not yet in `meta` (the disk was full at start-up).
    let epochSaved: Mutex<Bool>
    /// Unsynced delete transactions since the last checkpoint (see `deleteAcknowledged`).
    let deletesSinceCheckpoint = Mutex(0)
    /// Set when the store opened in a degraded way (the agent logs it).
    public let startupWarning: String?

    public init(path: String, site: String, edge: String, limits: OutboxConfig = OutboxConfig()) throws(StoreError) {
        self.path = path
        self.limits = limits
        identity = (site, edge)
        do {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            var config = Configuration()
            config.busyMode = .timeout(5)
            pool = try DatabasePool(path: path, configuration: config)
            // After opening: GRDB's WAL set-up sets NORMAL on the writer, over any prepare hook.
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = \(limits.synchronousMode)")
            }
            try Self.migrator.migrate(pool)
            let (previous, current, pending) = try pool.read { db -> (Int64, OutboxTotals, Bool) in
                let previous = try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'boot_epoch'") ?? 0
                let row = try Row.fetchOne(db, sql: "SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM events")!
                let pending = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM pending_gaps") ?? 0
                return (previous, OutboxTotals(events: row[0], bytes: row[1]), pending > 0)
            }
            let epoch = Self.nextEpoch(after: previous, now: Timestamp.now())
            bootEpoch = epoch
            totals = Mutex(current)
            gapsPending = Mutex(pending)
            // Start-up must succeed on an existing outbox even with the disk full: if the epoch
            // cannot be saved now, the first commit that succeeds saves it with its events.
            do {
                try pool.write { try Self.saveEpoch(epoch, $0) }
                epochSaved = Mutex(true)
                startupWarning = nil
            } catch {
                epochSaved = Mutex(false)
                startupWarning = "could not save boot epoch \(epoch) (\(error)); it is saved with the first commit that succeeds"
            }
        } catch {
            throw .cannotOpen(path: path, reason: "\(error)")
        }
    }

    static func saveEpoch(_ epoch: Int64, _ db: Database) throws {
        try db.execute(sql: """
            INSERT INTO meta(key, value) VALUES ('boot_epoch', ?)
            ON CONFLICT(key) DO UPDATE SET value = max(value, excluded.value)
            """, arguments: [epoch])
    }

    /// The writer's `PRAGMA synchronous`: 2 is FULL, 1 NORMAL.
    public func synchronousMode() throws -> Int {
        try pool.writeWithoutTransaction { try Int.fetchOne($0, sql: "PRAGMA synchronous") ?? -1 }
    }

    /// The previous epoch plus one, but at least the current Unix time in seconds: a new
    /// outbox file (reinstall, lost disk) can never reuse an epoch the central has seen.
    static func nextEpoch(after previous: Int64, now: Timestamp) -> Int64 {
        max(previous + 1, now.milliseconds / 1000)
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1: events, rule state, quarantine") { db in
            try db.execute(sql: """
                CREATE TABLE meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
                CREATE TABLE events (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    event_id TEXT NOT NULL UNIQUE,
                    boot_epoch INTEGER NOT NULL,
                    priority INTEGER NOT NULL,
                    type TEXT NOT NULL,
                    equipment TEXT NOT NULL,
                    signal TEXT NOT NULL,
                    occurred_at INTEGER NOT NULL,
                    body TEXT NOT NULL
                );
                CREATE TABLE rule_state (
                    key TEXT PRIMARY KEY,
                    sensor TEXT NOT NULL,
                    equipment TEXT NOT NULL,
                    signal TEXT NOT NULL,
                    rules TEXT NOT NULL,
                    updated_at INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE TABLE quarantine (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    at INTEGER NOT NULL,
                    reason TEXT NOT NULL,
                    sensor TEXT NOT NULL,
                    topic TEXT NOT NULL,
                    detail TEXT NOT NULL,
                    payload TEXT NOT NULL
                );
                """)
        }
        m.registerMigration("v2: outbox sizes, commit time, drain order") { db in
            try db.execute(sql: """
                ALTER TABLE events ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE events ADD COLUMN committed_at INTEGER NOT NULL DEFAULT 0;
                UPDATE events SET bytes = length(body), committed_at = occurred_at;
                CREATE INDEX events_by_priority ON events(priority, seq);
                CREATE TABLE drops (reason TEXT NOT NULL, class TEXT NOT NULL, count INTEGER NOT NULL,
                                    PRIMARY KEY (reason, class)) WITHOUT ROWID;
                """)
        }
        m.registerMigration("v3: drops accumulate until the uplink sends them as gap records") { db in
            try db.execute(sql: """
                CREATE TABLE pending_gaps (reason TEXT NOT NULL, class TEXT NOT NULL, count INTEGER NOT NULL,
                                           first_at INTEGER NOT NULL, last_at INTEGER NOT NULL,
                                           PRIMARY KEY (reason, class)) WITHOUT ROWID;
                """)
        }
        m.registerMigration("v4: no unique index on event_id") { db in
            // A unique index on random UUIDs dirtied one random page per event on insert and on
            // acknowledged delete: most of the outbox's write traffic. Uniqueness that matters is
            // (edge, boot_epoch, seq); the rebuild keeps AUTOINCREMENT's high-water mark.
            try db.execute(sql: """
                CREATE TABLE events_v4 (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    event_id TEXT NOT NULL,
                    boot_epoch INTEGER NOT NULL,
                    priority INTEGER NOT NULL,
                    type TEXT NOT NULL,
                    equipment TEXT NOT NULL,
                    signal TEXT NOT NULL,
                    occurred_at INTEGER NOT NULL,
                    body TEXT NOT NULL,
                    bytes INTEGER NOT NULL DEFAULT 0,
                    committed_at INTEGER NOT NULL DEFAULT 0
                );
                INSERT INTO events_v4 SELECT seq, event_id, boot_epoch, priority, type, equipment, signal,
                    occurred_at, body, bytes, committed_at FROM events;
                DELETE FROM sqlite_sequence WHERE name = 'events_v4';
                INSERT INTO sqlite_sequence (name, seq) VALUES ('events_v4', max(
                    COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0),
                    COALESCE((SELECT MAX(seq) FROM events_v4), 0)));
                DROP TABLE events;
                ALTER TABLE events_v4 RENAME TO events;
                CREATE INDEX events_by_priority ON events(priority, seq);
                """)
        }
        return m
    }

    /// Commits one batch atomically; returns the events with `bootEpoch` and `seq` assigned.
    @discardableResult
    public func commit(_ batch: PipelineOutput, keepQuarantine: Int, now: Timestamp = .now()) throws(StoreError) -> [EventEnvelope] {
        let epoch = bootEpoch
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do {
            let saveEpoch = !epochSaved.withLock { $0 }
            let result = try pool.write { db -> [EventEnvelope] in
                if saveEpoch { try Self.saveEpoch(epoch, db) }
                let (committed, added) = try insert(batch.events, db: db, epoch: epoch, now: now, encoder: encoder)
                if !batch.states.isEmpty {
                    let upsert = try db.cachedStatement(sql: """
                        INSERT INTO rule_state (key, sensor, equipment, signal, rules, updated_at) VALUES (?, ?, ?, ?, ?, ?)
                        ON CONFLICT(key) DO UPDATE SET rules = excluded.rules, updated_at = excluded.updated_at
                        """)
                    for s in batch.states {
                        let rules = String(decoding: try encoder.encode(s.rules), as: UTF8.self)
                        try upsert.execute(arguments: [s.key, s.sensor, s.equipment, s.signal, rules, s.updatedAt.milliseconds])
                    }
                }
                if !batch.quarantine.isEmpty && keepQuarantine > 0 {
                    let insert = try db.cachedStatement(sql: """
                        INSERT INTO quarantine (at, reason, sensor, topic, detail, payload) VALUES (?, ?, ?, ?, ?, ?)
                        """)
                    for q in batch.quarantine.suffix(keepQuarantine) {
                        try insert.execute(arguments: [q.at.milliseconds, q.reason.rawValue, q.sensor, q.topic, q.detail, q.payload])
                    }
                    try db.execute(sql: "DELETE FROM quarantine WHERE id <= (SELECT MAX(id) FROM quarantine) - ?",
                                   arguments: [keepQuarantine])
                }
                try enforceCapacity(db: db, uncommitted: added)
                return committed
            }
            if saveEpoch { epochSaved.withLock { $0 = true } }
            return result
        } catch {
            throw .writeFailed(reason: "\(error)")
        }
    }

    /// Inserts events with seq assigned up front, so each row is written once with its final body.
    func insert(_ events: [EventEnvelope], db: Database, epoch: Int64, now: Timestamp,
                encoder: JSONEncoder) throws -> ([EventEnvelope], OutboxTotals) {
        guard !events.isEmpty else { return ([], OutboxTotals(events: 0, bytes: 0)) }
        var seq = try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'events'") ?? 0
        let insert = try db.cachedStatement(sql: """
            INSERT INTO events (seq, event_id, boot_epoch, priority, type, equipment, signal, occurred_at, body, bytes, committed_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        var committed: [EventEnvelope] = []
        committed.reserveCapacity(events.count)
        var bytes = 0
        for var e in events {
            seq += 1
            e.bootEpoch = epoch
            e.seq = seq
            let body = String(decoding: try encoder.encode(e), as: UTF8.self)
            try insert.execute(arguments: [seq, e.eventID, epoch, e.priority.rank, e.type.rawValue, e.equipment, e.signal,
                                           e.occurredAt.milliseconds, body, body.utf8.count, now.milliseconds])
            bytes += body.utf8.count
            committed.append(e)
        }
        adjustTotalsOnCommit(db, events: committed.count, bytes: bytes)
        return (committed, OutboxTotals(events: committed.count, bytes: bytes))
    }

    /// Applies a change of the outbox's size to the in-memory totals only once the transaction
    /// commits (on the writer, before the next transaction starts): a rolled-back write (disk full)
    /// changes nothing, so its retry cannot count the same events twice.
    func adjustTotalsOnCommit(_ db: Database, events: Int, bytes: Int) {
        guard events != 0 || bytes != 0 else { return }
        db.afterNextTransaction { [self] _ in
            totals.withLock { $0.events += events; $0.bytes += bytes }
        }
    }

    /// Every saved rule state, to restore the pipeline after a restart, and the instances whose
    /// state could not be read (saved by an incompatible version, or damaged): those rules start
    /// fresh, and the agent says which.
    public func loadRuleStates() throws(StoreError) -> (records: [RuleStateRecord], unreadable: [(key: String, reason: String)]) {
        let decoder = JSONDecoder()
        do {
            return try pool.read { db in
                var records: [RuleStateRecord] = []
                var unreadable: [(key: String, reason: String)] = []
                for row in try Row.fetchAll(db, sql: "SELECT key, sensor, equipment, signal, rules, updated_at FROM rule_state ORDER BY key") {
                    do {
                        let rules = try decoder.decode(SensorRules.self, from: Data((row["rules"] as String).utf8))
                        records.append(RuleStateRecord(key: row["key"], sensor: row["sensor"], equipment: row["equipment"], signal: row["signal"],
                                                       rules: rules, updatedAt: Timestamp(milliseconds: row["updated_at"])))
                    } catch {
                        unreadable.append((row["key"], "\(error)"))
                    }
                }
                return (records, unreadable)
            }
        } catch {
            throw .writeFailed(reason: "reading rule state: \(error)")
        }
    }

    public func eventCount() throws -> Int {
        try pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM events") ?? 0 }
    }
}

/// Events and bytes in the outbox.
public struct OutboxTotals: Sendable, Hashable {
    public var events: Int
    public var bytes: Int

    public init(events: Int, bytes: Int) {
        self.events = events
        self.bytes = bytes
    }
}

extension OutboxConfig {
    /// The writer's durable `PRAGMA synchronous`: set at open, and restored after unsynced deletes.
    var synchronousMode: String { synchronousFull ? "FULL" : "NORMAL" }
}
