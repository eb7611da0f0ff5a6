import CentralIngest
import Foundation
import MillwrightCore
import PostgresNIO

/// The ingest seam on PostgreSQL, for one or several central replicas sharing the database.
///
/// Why it is shaped this way: a group commit of batches is a few statements whatever its size:
/// the events streamed with COPY into a temporary table and inserted from it in one statement
/// (`EventWrite`; binding each column as an array and expanding it with `unnest` is the other way,
/// 0.94-0.98 of COPY's rate in bench/pg-event-write), so PostgreSQL parses and plans once per
/// commit rather than once per event; duplicates are dropped by the unique key
/// (`ON CONFLICT DO NOTHING`), so two replicas offered the same batch store it once, and the keys
/// that were new come back with `RETURNING` to tell the edge what was new.
public final class PostgresIngestStore: IngestStore {
    public let database: PostgresDatabase
    public let eventWrite: EventWrite

    public init(_ database: PostgresDatabase, eventWrite: EventWrite = .copy) {
        self.database = database
        self.eventWrite = eventWrite
    }

    public var location: String { database.settings.display }

    struct Key: Hashable {
        var edge: String
        var epoch: Int64
        var seq: Int64
    }

    public func commit(_ batches: [ValidBatch], rejected: [RejectedBatch], now: Timestamp) async throws -> [IngestOutcome] {
        // Key order in every transaction: two replicas inserting overlapping keys take the index
        // locks in the same order, so they wait for each other instead of deadlocking.
        let events = batches.flatMap(\.events).sorted { ($0.edge, $0.bootEpoch, $0.seq) < ($1.edge, $1.bootEpoch, $1.seq) }
        let logger = database.logger
        return try await database.transaction { c in
            var fresh = Set<Key>()
            if !events.isEmpty {
                let rows = switch eventWrite {
                case .unnest: try await insertByUnnest(events, now: now, c)
                case .copy: try await insertByCopy(events, now: now, c)
                }
                for try await (edge, epoch, seq) in rows.decode((String, Int64, Int64).self) {
                    fresh.insert(Key(edge: edge, epoch: epoch, seq: seq))
                }
            }
            // Attribute what was new to the batches in order; an event twice in one commit is new once.
            var outcomes: [IngestOutcome] = []
            var tally = EdgeCommitTally(batches)
            for b in batches {
                var inserted = 0
                for e in b.events where fresh.remove(Key(edge: e.edge, epoch: e.bootEpoch, seq: e.seq)) != nil {
                    inserted += 1
                    tally.stored(e, in: b, now: now)
                }
                outcomes.append(IngestOutcome(inserted: inserted, duplicates: b.events.count - inserted))
            }
            let perEdge = tally.sorted
            if !perEdge.isEmpty {
                let edges = perEdge.map(\.edge)
                let t = perEdge.map(\.totals)
                try await c.query("""
                    INSERT INTO edges AS e (edge, site, first_seen, last_seen, last_epoch, last_seq, events, duplicates, batches, gap_events, dropped_reported)
                    SELECT u.edge, u.site, \(now.milliseconds), \(now.milliseconds), u.last_epoch, u.last_seq, u.inserted,
                        u.total - u.inserted, u.batches, u.gaps, u.dropped
                    FROM unnest(\(edges)::text[], \(t.map(\.site))::text[], \(t.map(\.lastEpoch))::int8[], \(t.map(\.lastSeq))::int8[],
                        \(t.map(\.inserted))::int8[], \(t.map(\.events))::int8[], \(t.map(\.batches))::int8[],
                        \(t.map(\.gapEvents))::int8[], \(t.map(\.dropped))::int8[])
                        AS u(edge, site, last_epoch, last_seq, inserted, total, batches, gaps, dropped)
                    ORDER BY u.edge
                    ON CONFLICT (edge) DO UPDATE SET
                        last_seen = excluded.last_seen,
                        last_epoch = GREATEST(e.last_epoch, excluded.last_epoch),
                        last_seq = GREATEST(e.last_seq, excluded.last_seq),
                        events = e.events + excluded.events,
                        duplicates = e.duplicates + excluded.duplicates,
                        batches = e.batches + excluded.batches,
                        gap_events = e.gap_events + excluded.gap_events,
                        dropped_reported = e.dropped_reported + excluded.dropped_reported
                    """, logger: logger)
            }
            let samples = tally.clocks.sorted
            if !samples.isEmpty {
                try await c.query("""
                    INSERT INTO edge_clock_offsets AS o (edge, boot_epoch, offset_ms, samples)
                    SELECT * FROM unnest(\(samples.map(\.edge))::text[], \(samples.map(\.bootEpoch))::int8[],
                        \(samples.map(\.offset))::int8[], \(samples.map(\.samples))::int8[])
                    ON CONFLICT (edge, boot_epoch) DO UPDATE SET offset_ms = LEAST(o.offset_ms, excluded.offset_ms),
                        samples = o.samples + excluded.samples
                    """, logger: logger)
            }
            for r in rejected {
                try await c.query("""
                    INSERT INTO rejected_batches (at, topic, kind, reason, payload)
                    VALUES (\(now.milliseconds), \(Self.text(r.topic)), \(r.kind.rawValue), \(Self.text(r.reason)), \(ByteBuffer(bytes: r.payload)))
                    """, logger: logger)
            }
            return outcomes
        }
    }

    /// One INSERT with every column bound as an array; returns the keys that were new.
    private func insertByUnnest(_ events: [StoredEvent], now: Timestamp, _ c: LiveConnection) async throws -> PostgresRowSequence {
        try await c.query("""
            WITH feed AS (SELECT feed_txid() AS txid)
            INSERT INTO events (txid, edge, boot_epoch, seq, event_id, site, equipment, signal, type, priority,
                occurred_at, edge_received_at, central_received_at, is_historical, body)
            SELECT feed.txid, u.* FROM feed, unnest(\(events.map(\.edge))::text[], \(events.map(\.bootEpoch))::int8[], \(events.map(\.seq))::int8[],
                \(events.map(\.eventID))::text[], \(events.map(\.site))::text[], \(events.map(\.equipment))::text[],
                \(events.map(\.signal))::text[], \(events.map(\.type.rawValue))::text[], \(events.map { Int32($0.priority.rank) })::int4[],
                \(events.map(\.occurredAt.milliseconds))::int8[], \(events.map(\.edgeReceivedAt.milliseconds))::int8[],
                \(Array(repeating: now.milliseconds, count: events.count))::int8[], \(events.map(\.isHistorical))::bool[],
                \(events.map(\.body))::text[]) AS u
            ON CONFLICT ON CONSTRAINT events_key DO NOTHING
            RETURNING edge, boot_epoch, seq
            """, logger: database.logger)
    }

    static let stagedColumns = ["edge", "boot_epoch", "seq", "event_id", "site", "equipment", "signal", "type", "priority",
                                "occurred_at", "edge_received_at", "is_historical", "body"]

    /// The rows streamed with COPY into a temporary table of this connection (emptied at commit),
    /// then one INSERT from it that skips duplicates and returns the keys that were new.
    private func insertByCopy(_ events: [StoredEvent], now: Timestamp, _ c: LiveConnection) async throws -> PostgresRowSequence {
        let logger = database.logger
        try await c.query("""
            CREATE TEMPORARY TABLE IF NOT EXISTS staged_events (edge TEXT, boot_epoch BIGINT, seq BIGINT, event_id TEXT,
                site TEXT, equipment TEXT, signal TEXT, type TEXT, priority INTEGER, occurred_at BIGINT,
                edge_received_at BIGINT, is_historical BOOLEAN, body TEXT) ON COMMIT DELETE ROWS
            """, logger: logger)
        var buffer = ByteBuffer()
        buffer.reserveCapacity(events.reduce(0) { $0 + $1.body.utf8.count + 160 })
        let tab = UInt8(ascii: "\t")
        for e in events {
            CopyText.escaped(e.edge, into: &buffer); buffer.writeInteger(tab)
            buffer.writeString(String(e.bootEpoch)); buffer.writeInteger(tab)
            buffer.writeString(String(e.seq)); buffer.writeInteger(tab)
            CopyText.escaped(e.eventID, into: &buffer); buffer.writeInteger(tab)
            CopyText.escaped(e.site, into: &buffer); buffer.writeInteger(tab)
            CopyText.escaped(e.equipment, into: &buffer); buffer.writeInteger(tab)
            CopyText.escaped(e.signal, into: &buffer); buffer.writeInteger(tab)
            CopyText.escaped(e.type.rawValue, into: &buffer); buffer.writeInteger(tab)
            buffer.writeString(String(e.priority.rank)); buffer.writeInteger(tab)
            buffer.writeString(String(e.occurredAt.milliseconds)); buffer.writeInteger(tab)
            buffer.writeString(String(e.edgeReceivedAt.milliseconds)); buffer.writeInteger(tab)
            buffer.writeString(e.isHistorical ? "t" : "f"); buffer.writeInteger(tab)
            CopyText.escaped(e.body, into: &buffer)
            buffer.writeInteger(UInt8(ascii: "\n"))
        }
        try await c.copy(buffer, into: "staged_events", columns: Self.stagedColumns, logger: logger)
        return try await c.query("""
            WITH feed AS (SELECT feed_txid() AS txid)
            INSERT INTO events (txid, edge, boot_epoch, seq, event_id, site, equipment, signal, type, priority,
                occurred_at, edge_received_at, central_received_at, is_historical, body)
            SELECT feed.txid, s.edge, s.boot_epoch, s.seq, s.event_id, s.site, s.equipment, s.signal, s.type, s.priority,
                s.occurred_at, s.edge_received_at, \(now.milliseconds), s.is_historical, s.body
            FROM feed, staged_events s ORDER BY s.edge, s.boot_epoch, s.seq
            ON CONFLICT ON CONSTRAINT events_key DO NOTHING
            RETURNING edge, boot_epoch, seq
            """, logger: logger)
    }

    /// PostgreSQL text cannot hold NUL; a refused batch's topic or reason is only shown, so a NUL
    /// in it is shown as U+FFFD instead of failing the commit that keeps the batch.
    static func text(_ s: String) -> String {
        s.contains("\0") ? s.replacingOccurrences(of: "\0", with: "\u{FFFD}") : s
    }

    public func recordStatus(edge: String, site: String, json: String, at: Timestamp) async throws {
        try await database.transaction { c in
            try await c.query("""
                INSERT INTO edges (edge, site, first_seen, last_seen, status, status_at)
                VALUES (\(edge), \(site), \(at.milliseconds), \(at.milliseconds), \(Self.text(json)), \(at.milliseconds))
                ON CONFLICT (edge) DO UPDATE SET status = excluded.status, status_at = excluded.status_at
                """, logger: database.logger)
        }
    }

    public func edges() async throws -> [EdgeRecord] {
        let rows = try await database.query("""
            SELECT edge, site, first_seen, last_seen, last_epoch, last_seq, events, duplicates, batches, gap_events, dropped_reported, status
            FROM edges ORDER BY site, edge
            """)
        var out: [EdgeRecord] = []
        for try await r in rows.decode((String, String, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, String?).self) {
            out.append(EdgeRecord(edge: r.0, site: r.1, firstSeen: Timestamp(milliseconds: r.2), lastSeen: Timestamp(milliseconds: r.3),
                                  lastEpoch: r.4, lastSeq: r.5, events: Int(r.6), duplicates: Int(r.7), batches: Int(r.8),
                                  gapEvents: Int(r.9), droppedReported: Int(r.10), status: r.11))
        }
        return out
    }

    public func eventCount() async throws -> Int {
        for try await n in try await database.query("SELECT COUNT(*) FROM events").decode(Int64.self) { return Int(n) }
        return 0
    }

    public func rejectedByReason() async throws -> [String: Int] {
        var out: [String: Int] = [:]
        for try await (kind, n) in try await database.query("SELECT kind, COUNT(*) FROM rejected_batches GROUP BY kind").decode((String, Int64).self) {
            out[kind] = Int(n)
        }
        return out
    }

    // MARK: reading events back

    static let columns = "txid, id, edge, boot_epoch, seq, equipment, signal, type, occurred_at, central_received_at, body"

    func fetch(_ query: PostgresQuery) async throws -> [FeedEvent] {
        var out: [FeedEvent] = []
        let rows = try await database.query(query)
        for try await r in rows.decode((Int64, Int64, String, Int64, Int64, String, String, String, Int64, Int64, String).self) {
            // The ingest stores only types it decoded; anything else is damage to say, not to skip.
            guard let type = EventType(rawValue: r.7) else { throw PostgresStoreError("stored event \(r.2):\(r.3):\(r.4) has the unknown type \"\(r.7)\"") }
            out.append(FeedEvent(position: FeedPosition(transaction: r.0, row: r.1), edge: r.2, bootEpoch: r.3, seq: r.4,
                                 equipment: r.5, signal: r.6, type: type, occurredAt: Timestamp(milliseconds: r.8),
                                 centralReceivedAt: Timestamp(milliseconds: r.9), body: r.10))
        }
        return out
    }

    public func events(after position: FeedPosition, _ filter: FeedFilter, limit: Int) async throws -> [FeedEvent] {
        if filter.isEmpty { return [] }
        // Only transactions older than every one still running: their rows are final, and any row
        // not read yet will sort after the last one returned.
        return try await fetch("""
            SELECT \(unescaped: Self.columns) FROM events
            WHERE (txid, id) > (\(position.transaction), \(position.row))
              AND txid < feed_horizon()
              AND (\(filter.equipment)::text[] IS NULL OR equipment = ANY(\(filter.equipment)::text[]))
              AND (\(filter.types?.map(\.rawValue))::text[] IS NULL OR type = ANY(\(filter.types?.map(\.rawValue))::text[]))
            ORDER BY txid, id LIMIT \(Int64(max(0, limit)))
            """)
    }

    public func events(occurredSince since: Timestamp, _ filter: FeedFilter) async throws -> [FeedEvent] {
        if filter.isEmpty { return [] }
        return try await fetch("""
            SELECT \(unescaped: Self.columns) FROM events
            WHERE occurred_at >= \(since.milliseconds)
              AND (\(filter.equipment)::text[] IS NULL OR equipment = ANY(\(filter.equipment)::text[]))
              AND (\(filter.types?.map(\.rawValue))::text[] IS NULL OR type = ANY(\(filter.types?.map(\.rawValue))::text[]))
            """)
    }

    public func events(occurredFrom from: Timestamp, before: Timestamp, _ filter: FeedFilter) async throws -> [FeedEvent] {
        if filter.isEmpty { return [] }
        return try await fetch("""
            SELECT \(unescaped: Self.columns) FROM events
            WHERE occurred_at >= \(from.milliseconds) AND occurred_at < \(before.milliseconds)
              AND (\(filter.equipment)::text[] IS NULL OR equipment = ANY(\(filter.equipment)::text[]))
              AND (\(filter.types?.map(\.rawValue))::text[] IS NULL OR type = ANY(\(filter.types?.map(\.rawValue))::text[]))
            """)
    }

    public func event(edge: String, bootEpoch: Int64, seq: Int64) async throws -> FeedEvent? {
        try await fetch("""
            SELECT \(unescaped: Self.columns) FROM events WHERE edge = \(edge) AND boot_epoch = \(bootEpoch) AND seq = \(seq)
            """).first
    }

    public func edgeClockOffsets() async throws -> [String: Int64] {
        var out: [String: Int64] = [:]
        let rows = try await database.query("SELECT edge, boot_epoch, offset_ms FROM edge_clock_offsets")
        for try await (edge, epoch, offset) in rows.decode((String, Int64, Int64).self) {
            out["\(edge):\(epoch)"] = offset
        }
        return out
    }

    public func close() async { database.close() }
}
