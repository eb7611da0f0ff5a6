import CentralIngest
import Foundation
import MillwrightCore
import PostgresNIO

/// The retention seam on PostgreSQL. `events` is partitioned by retention class and month of event
/// time (migration "retention v2"): a month whose end is past a class's retention, and which holds
/// nothing still needed, is archived and dropped in one statement. Rows are deleted one chunk at a
/// time only in the class's default partition (months not made yet) and in an expired month that
/// still holds something needed, so an event stays at most a month longer than its retention.
public final class PostgresRetentionStore: RetentionStore {
    public let database: PostgresDatabase

    public init(_ database: PostgresDatabase) {
        self.database = database
    }

    static let columns = """
        txid, id, edge, boot_epoch, seq, event_id, site, equipment, signal, type, priority, occurred_at, edge_received_at,
        central_received_at, is_historical, body
        """

    /// The partition holding a type's events where no month applies.
    static func defaultPartition(type: String) -> String {
        EventType(rawValue: type).map { "events_\(RetentionClass(type: $0).rawValue)_default" } ?? "events_other"
    }

    /// `period` is a partition name this store handed out (`dropExpiredPeriods`), never user text.
    public func expiredEvents(type: String, before: Timestamp, after: RetentionPosition?, upTo: FeedPosition?, limit: Int,
                              in period: String?) async throws -> [EventRow] {
        let table = period ?? Self.defaultPartition(type: type)
        guard Self.isPartitionName(table) else { throw PartitionError(description: "not an events partition: \(table)") }
        let afterTime = after?.occurredAt.milliseconds ?? Int64.min, afterRow = after?.row ?? Int64.min
        let upToTx = upTo?.transaction ?? Int64.max, upToRow = upTo?.row ?? Int64.max
        let rows = try await database.query("""
            SELECT \(unescaped: Self.columns) FROM \(unescaped: table)
            WHERE type = \(type) AND occurred_at < \(before.milliseconds) AND central_received_at < \(before.milliseconds)
              AND (occurred_at, id) > (\(afterTime), \(afterRow))
              AND (txid, id) <= (\(upToTx), \(upToRow))
              AND id < (SELECT max(id) FROM events)
            ORDER BY occurred_at, id LIMIT \(Int64(max(0, limit)))
            """)
        return try await decode(rows)
    }

    struct PartitionError: Error, CustomStringConvertible {
        var description: String
    }

    /// events_<class>_default, events_<class>_yYYYYmMM or events_other.
    static func isPartitionName(_ name: String) -> Bool {
        name == "events_other" || RetentionClass.allCases.contains { c in
            let prefix = "events_\(c.rawValue)_"
            guard name.hasPrefix(prefix) else { return false }
            let rest = name.dropFirst(prefix.count)
            return rest == "default" || (rest.count == 8 && rest.first == "y" && rest.dropFirst(5).first == "m"
                                         && rest.filter(\.isNumber).count == 6)
        }
    }

    /// From each class's retention ago (a month back for a class kept for ever) to three months ahead.
    public func preparePeriods(_ settings: RetentionSettings, now: Timestamp) async throws {
        for c in RetentionClass.allCases {
            let back = settings.retention(c) ?? .days(31)
            let from = now.milliseconds - back.value, to = now.milliseconds + Millis.days(92).value
            let made = try await database.transaction { conn -> Int32 in
                let rows = try await conn.query("SELECT event_month_partitions(\(c.rawValue), \(from), \(to))", logger: database.logger)
                for try await n in rows.decode(Int32.self) { return n }
                return 0
            }
            if made > 0 { database.logger.info("retention: partitions made", metadata: ["class": "\(c.rawValue)", "months": "\(made)"]) }
        }
    }

    /// A class's month partitions with their bounds (ms), oldest first.
    func months(_ c: RetentionClass) async throws -> [(name: String, from: Int64, to: Int64)] {
        let rows = try await database.query("""
            SELECT k.relname::text, pg_get_expr(k.relpartbound, k.oid) FROM pg_inherits i JOIN pg_class k ON k.oid = i.inhrelid
            WHERE i.inhparent = to_regclass(\("events_\(c.rawValue)")) AND k.relname::text <> \("events_\(c.rawValue)_default")
            """)
        var out: [(String, Int64, Int64)] = []
        for try await (name, bound) in rows.decode((String, String).self) {
            // FOR VALUES FROM ('1764547200000') TO ('1767225600000')
            let numbers = bound.split(separator: "'").compactMap { Int64($0) }
            guard numbers.count == 2, Self.isPartitionName(name) else { continue }
            out.append((name, numbers[0], numbers[1]))
        }
        return out.sorted { $0.1 < $1.1 }
    }

    public func dropExpiredPeriods(_ c: RetentionClass, before: Timestamp, keep: RetentionKeep,
                                   archive: (@Sendable ([EventRow]) throws -> Void)?) async throws -> (deleted: Int, remaining: [String]) {
        var deleted = 0
        var remaining: [String] = []
        let upToTx = keep.upTo?.transaction ?? Int64.max, upToRow = keep.upTo?.row ?? Int64.max
        for month in try await months(c) where month.to <= before.milliseconds {
            // Still needed: arrived after the cut-off, not yet read by the immediate tier, the newest
            // row, cited by the synchronisation, or held.
            var needed: Int64 = 0
            let rows = try await database.query("""
                SELECT count(*) FROM \(unescaped: month.name)
                WHERE central_received_at >= \(before.milliseconds) OR (txid, id) > (\(upToTx), \(upToRow))
                   OR id = (SELECT max(id) FROM events)
                   OR (edge || ':' || boot_epoch || ':' || seq) = ANY(\(Array(keep.cited))::text[])
                """)
            for try await n in rows.decode(Int64.self) { needed += n }
            for h in keep.holds where h.from.milliseconds < month.to && h.to.milliseconds > month.from {
                let held = try await database.query("""
                    SELECT count(*) FROM \(unescaped: month.name)
                    WHERE site = \(h.site) AND occurred_at >= \(h.from.milliseconds) AND occurred_at < \(h.to.milliseconds)
                    """)
                for try await n in held.decode(Int64.self) { needed += n }
            }
            if needed > 0 {
                remaining.append(month.name)
                continue
            }
            // Archived (a page at a time) before the drop; the drop happens only if nothing arrived meanwhile.
            var count = 0
            var last = Int64.min
            var top = Int64.min
            while true {
                let page = try await page(month.name, after: last, limit: 5000)
                guard let end = page.last else { break }
                try archive?(page)
                count += page.count
                last = end.row
                top = max(top, end.row)
            }
            let dropped = try await database.transaction { conn -> Bool in
                // No insert into the month from here to the commit.
                try await conn.query("LOCK TABLE \(unescaped: month.name) IN SHARE MODE", logger: database.logger)
                var now: Int64 = Int64.min
                let rows = try await conn.query("SELECT COALESCE(max(id), \(Int64.min)) FROM \(unescaped: month.name)", logger: database.logger)
                for try await m in rows.decode(Int64.self) { now = m }
                guard now == top else { return false }
                try await conn.query("ALTER TABLE \(unescaped: "events_\(c.rawValue)") DETACH PARTITION \(unescaped: month.name)", logger: database.logger)
                try await conn.query("DROP TABLE \(unescaped: month.name)", logger: database.logger)
                return true
            }
            if dropped {
                deleted += count
                database.logger.info("retention: month dropped", metadata: ["partition": "\(month.name)", "events": "\(count)"])
            } else {
                // Something arrived in the month while it was archived: the next run looks again.
                database.logger.notice("retention: an event arrived in a month being dropped; left for the next run", metadata: ["partition": "\(month.name)"])
            }
        }
        return (deleted, remaining)
    }

    func page(_ table: String, after: Int64, limit: Int) async throws -> [EventRow] {
        try await decode(database.query("""
            SELECT \(unescaped: Self.columns) FROM \(unescaped: table) WHERE id > \(after) ORDER BY id LIMIT \(Int64(limit))
            """))
    }

    func decode(_ rows: some AsyncSequence<PostgresRow, any Error>) async throws -> [EventRow] {
        var out: [EventRow] = []
        for try await r in rows.decode((Int64, Int64, String, Int64, Int64, String, String, String, String, String, Int, Int64, Int64, Int64, Bool, String).self) {
            out.append(EventRow(row: r.1, position: FeedPosition(transaction: r.0, row: r.1), edge: r.2, bootEpoch: r.3, seq: r.4,
                                eventID: r.5, site: r.6, equipment: r.7, signal: r.8, type: r.9, priority: r.10,
                                occurredAt: Timestamp(milliseconds: r.11), edgeReceivedAt: Timestamp(milliseconds: r.12),
                                centralReceivedAt: Timestamp(milliseconds: r.13), isHistorical: r.14, body: r.15))
        }
        return out
    }

    /// From the one partition they were found in (a probe of every partition's key otherwise).
    public func deleteEvents(_ events: [EventRow], in period: String?) async throws -> Int {
        guard let first = events.first else { return 0 }
        let table = period ?? Self.defaultPartition(type: first.type)
        guard Self.isPartitionName(table) else { throw PartitionError(description: "not an events partition: \(table)") }
        let rows = events.map(\.row)
        return try await database.transaction { c in
            let deleted = try await c.query("DELETE FROM \(unescaped: table) WHERE id = ANY(\(rows)) RETURNING id", logger: database.logger)
            var n = 0
            for try await _ in deleted.decode(Int64.self) { n += 1 }
            return n
        }
    }

    /// Back in with feed transaction 0: before every cursor, so no feed reads them again.
    public func restore(_ events: [EventRow]) async throws -> Int {
        guard !events.isEmpty else { return 0 }
        return try await database.transaction { c in
            var n = 0
            for e in events {
                let r = try await c.query("""
                    INSERT INTO events (txid, edge, boot_epoch, seq, event_id, site, equipment, signal, type, priority,
                        occurred_at, edge_received_at, central_received_at, is_historical, body)
                    VALUES (0, \(e.edge), \(e.bootEpoch), \(e.seq), \(e.eventID), \(e.site), \(e.equipment), \(e.signal), \(e.type),
                        \(e.priority), \(e.occurredAt.milliseconds), \(e.edgeReceivedAt.milliseconds), \(e.centralReceivedAt.milliseconds),
                        \(e.isHistorical), \(e.body))
                    ON CONFLICT ON CONSTRAINT events_key DO NOTHING RETURNING id
                    """, logger: database.logger)
                for try await _ in r.decode(Int64.self) { n += 1 }
            }
            return n
        }
    }

    public func oldestEvents() async throws -> [String: Timestamp] {
        var out: [String: Timestamp] = [:]
        for t in EventType.allCases {
            let rows = try await database.query("SELECT min(occurred_at) FROM events WHERE type = \(t.rawValue)")
            for try await ms in rows.decode(Int64?.self) {
                if let ms { out[t.rawValue] = Timestamp(milliseconds: ms) }
            }
        }
        return out
    }

    public func storeBytes() async throws -> Int64 {
        var size: Int64 = 0
        for try await s in try await database.query("SELECT pg_database_size(current_database())").decode(Int64.self) { size = s }
        return size
    }

    /// The database server's disk is not visible from here: `retention.volume_size` stands in for it.
    public func volume() async throws -> (size: Int64, free: Int64)? { nil }

    public func addHold(_ h: RetentionHoldRange) async throws {
        _ = try await database.transaction { c in
            try await c.query("""
                INSERT INTO retention_holds (site, from_ms, to_ms, until_ms, reason)
                VALUES (\(h.site), \(h.from.milliseconds), \(h.to.milliseconds), \(h.until.milliseconds), \(h.reason))
                """, logger: database.logger)
        }
    }

    public func holds(now: Timestamp) async throws -> [RetentionHoldRange] {
        try await database.transaction { c in
            try await c.query("DELETE FROM retention_holds WHERE until_ms <= \(now.milliseconds)", logger: database.logger)
            var out: [RetentionHoldRange] = []
            let rows = try await c.query("SELECT site, from_ms, to_ms, until_ms, reason FROM retention_holds ORDER BY id", logger: database.logger)
            for try await (site, from, to, until, reason) in rows.decode((String, Int64, Int64, Int64, String).self) {
                out.append(RetentionHoldRange(site: site, from: Timestamp(milliseconds: from), to: Timestamp(milliseconds: to),
                                              until: Timestamp(milliseconds: until), reason: reason))
            }
            return out
        }
    }

    /// Deleting does not hold PostgreSQL's inserts back (no single writer): no pacing.
    public var ingestActivity: IngestActivity? { nil }

    public func recordRun(_ r: RetentionRun) async throws {
        let deleted = String(decoding: try JSONEncoder().encode(r.deleted), as: UTF8.self)
        _ = try await database.transaction { c in
            try await c.query("""
                INSERT INTO retention_runs (started_at, finished_at, deleted, archived, kept, error)
                VALUES (\(r.startedAt.milliseconds), \(r.finishedAt.milliseconds), \(deleted), \(Int64(r.archived)), \(Int64(r.kept)), \(r.error))
                """, logger: database.logger)
            try await c.query("DELETE FROM retention_runs WHERE id <= (SELECT max(id) FROM retention_runs) - 100", logger: database.logger)
        }
    }

    public func lastRun() async throws -> RetentionRun? {
        let rows = try await database.query("SELECT started_at, finished_at, deleted, archived, kept, error FROM retention_runs ORDER BY id DESC LIMIT 1")
        for try await (started, finished, deleted, archived, kept, error) in rows.decode((Int64, Int64, String, Int64, Int64, String?).self) {
            return RetentionRun(startedAt: Timestamp(milliseconds: started), finishedAt: Timestamp(milliseconds: finished),
                                deleted: try JSONDecoder().decode([String: Int].self, from: Data(deleted.utf8)),
                                archived: Int(archived), kept: Int(kept), error: error)
        }
        return nil
    }
}
