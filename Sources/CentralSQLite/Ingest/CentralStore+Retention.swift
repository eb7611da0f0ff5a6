import CentralIngest
import Foundation
import GRDB
import MillwrightCore

extension CentralStore {
    static let storedColumns = """
        id, edge, boot_epoch, seq, event_id, site, equipment, signal, type, priority, occurred_at, edge_received_at,
        central_received_at, is_historical, body
        """

    static func stored(_ r: Row) -> EventRow {
        EventRow(row: r["id"], position: FeedPosition(row: r["id"]), edge: r["edge"], bootEpoch: r["boot_epoch"], seq: r["seq"],
                    eventID: r["event_id"], site: r["site"], equipment: r["equipment"], signal: r["signal"], type: r["type"],
                    priority: r["priority"], occurredAt: Timestamp(milliseconds: r["occurred_at"]),
                    edgeReceivedAt: Timestamp(milliseconds: r["edge_received_at"]),
                    centralReceivedAt: Timestamp(milliseconds: r["central_received_at"]), isHistorical: r["is_historical"], body: r["body"])
    }

    /// See `RetentionStore.expiredEvents`. By the (type, occurred_at) index; never the row with the
    /// highest id, which SQLite would hand out again (ids are not AUTOINCREMENT) and a cursor past it
    /// would then skip the new row.
    public func expiredEvents(type: String, before: Timestamp, after: RetentionPosition?, upTo: FeedPosition?, limit: Int) throws -> [EventRow] {
        var sql = """
            SELECT \(Self.storedColumns) FROM events
            WHERE type = ? AND occurred_at < ? AND central_received_at < ?
              AND id < (SELECT max(id) FROM events)
            """
        var args: StatementArguments = [type, before.milliseconds, before.milliseconds]
        if let after {
            sql += " AND (occurred_at, id) > (?, ?)"
            args += [after.occurredAt.milliseconds, after.row]
        }
        if let upTo {
            sql += " AND id <= ?"
            args += [upTo.row]
        }
        sql += " ORDER BY occurred_at, id LIMIT \(max(0, limit))"
        return try pool.read { db in try Row.fetchAll(db, sql: sql, arguments: args).map(Self.stored) }
    }

    public func deleteEvents(_ rows: [Int64]) throws -> Int {
        guard !rows.isEmpty else { return 0 }
        return try pool.write { db in
            try db.execute(sql: "DELETE FROM events WHERE id IN (\(databaseQuestionMarks(count: rows.count)))", arguments: StatementArguments(rows))
            return db.changesCount
        }
    }

    /// Archived events back in, below every id a cursor can hold (negative ids, counting down), so
    /// neither the reconciliation nor the immediate tier reads them again; keys already stored stay.
    public func restore(_ events: [EventRow]) throws -> Int {
        guard !events.isEmpty else { return 0 }
        return try pool.write { db in
            var next = min(0, try Int64.fetchOne(db, sql: "SELECT min(id) FROM events") ?? 0) - 1
            let insert = try db.cachedStatement(sql: """
                INSERT OR IGNORE INTO events (id, edge, boot_epoch, seq, event_id, site, equipment, signal, type, priority,
                    occurred_at, edge_received_at, central_received_at, is_historical, body)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            var inserted = 0
            for e in events {
                try insert.execute(arguments: [next, e.edge, e.bootEpoch, e.seq, e.eventID, e.site, e.equipment, e.signal, e.type, e.priority,
                                               e.occurredAt.milliseconds, e.edgeReceivedAt.milliseconds, e.centralReceivedAt.milliseconds,
                                               e.isHistorical, e.body])
                if db.changesCount > 0 {
                    inserted += 1
                    next -= 1
                }
            }
            return inserted
        }
    }

    /// Per type, the oldest event time: one index lookup per type.
    public func oldestEvents() throws -> [String: Timestamp] {
        try pool.read { db in
            var out: [String: Timestamp] = [:]
            for t in EventType.allCases {
                if let ms = try Int64.fetchOne(db, sql: "SELECT min(occurred_at) FROM events WHERE type = ?", arguments: [t.rawValue]) {
                    out[t.rawValue] = Timestamp(milliseconds: ms)
                }
            }
            return out
        }
    }

    /// The file, its WAL and shared-memory file.
    public func storeBytes() -> Int64 {
        [path, path + "-wal", path + "-shm"].reduce(Int64(0)) { sum, p in
            sum + ((try? FileManager.default.attributesOfItem(atPath: p)[.size] as? NSNumber)?.int64Value ?? 0)
        }
    }

    /// The file system of data_dir: (size, free) in bytes.
    public func volume() -> (size: Int64, free: Int64)? {
        var s = statvfs()
        guard statvfs((path as NSString).deletingLastPathComponent, &s) == 0 else { return nil }
        return (Int64(s.f_blocks) * Int64(s.f_frsize), Int64(s.f_bavail) * Int64(s.f_frsize))
    }

    public func addHold(_ h: RetentionHoldRange) throws {
        try pool.write { db in
            try db.execute(sql: "INSERT INTO retention_holds (site, from_ms, to_ms, until_ms, reason) VALUES (?, ?, ?, ?, ?)",
                           arguments: [h.site, h.from.milliseconds, h.to.milliseconds, h.until.milliseconds, h.reason])
        }
    }

    public func holds(now: Timestamp) throws -> [RetentionHoldRange] {
        try pool.write { db in
            try db.execute(sql: "DELETE FROM retention_holds WHERE until_ms <= ?", arguments: [now.milliseconds])
            return try Row.fetchAll(db, sql: "SELECT * FROM retention_holds ORDER BY id").map {
                RetentionHoldRange(site: $0["site"], from: Timestamp(milliseconds: $0["from_ms"]), to: Timestamp(milliseconds: $0["to_ms"]),
                                   until: Timestamp(milliseconds: $0["until_ms"]), reason: $0["reason"])
            }
        }
    }

    /// Keeps the last 100 runs.
    public func recordRun(_ r: RetentionRun) throws {
        let deleted = String(decoding: try JSONEncoder().encode(r.deleted), as: UTF8.self)
        try pool.write { db in
            try db.execute(sql: "INSERT INTO retention_runs (started_at, finished_at, deleted, archived, kept, error) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [r.startedAt.milliseconds, r.finishedAt.milliseconds, deleted, r.archived, r.kept, r.error])
            try db.execute(sql: "DELETE FROM retention_runs WHERE id <= (SELECT max(id) FROM retention_runs) - 100")
        }
    }

    public func lastRun() throws -> RetentionRun? {
        guard let row = try pool.read({ try Row.fetchOne($0, sql: "SELECT * FROM retention_runs ORDER BY id DESC LIMIT 1") }) else { return nil }
        let deleted = try JSONDecoder().decode([String: Int].self, from: Data((row["deleted"] as String).utf8))
        return RetentionRun(startedAt: Timestamp(milliseconds: row["started_at"]), finishedAt: Timestamp(milliseconds: row["finished_at"]),
                            deleted: deleted, archived: row["archived"], kept: row["kept"], error: row["error"])
    }
}
