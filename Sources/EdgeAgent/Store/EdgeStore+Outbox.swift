import EdgeConfig
import Foundation
import GRDB
import MillwrightCore

/// One outbox row as the uplink sends it: the committed envelope's JSON, not re-encoded.
public struct OutboxRow: Sendable, Hashable {
    public var seq: Int64
    public var priority: PriorityClass
    public var committedAt: Timestamp
    public var body: String
}

/// One outbox row's place in the drain, without its body (see `EdgeStore.readBatch`).
public struct OutboxRowInfo: Sendable, Hashable {
    public var seq: Int64
    public var priority: PriorityClass
    public var committedAt: Timestamp
}

/// What has been dropped from the outbox, by reason and class.
public struct OutboxDrop: Sendable, Codable, Hashable {
    public var reason: String
    public var priorityClass: PriorityClass
    public var count: Int

    enum CodingKeys: String, CodingKey {
        case reason
        case priorityClass = "class"
        case count
    }
}

extension EdgeStore {
    /// Drain order: alarms, then counts, then states, then summaries; oldest first in each.
    static let drainOrder = PriorityClass.allCases.sorted()

    /// The next events to send: per class, those after the class's cursor (the highest seq
    /// already in flight), alarms first, within the event and byte limits.
    public func nextBatch(after cursors: [PriorityClass: Int64], maxEvents: Int, maxBytes: Int) throws -> [OutboxRow] {
        var rows: [OutboxRow] = []
        try readBatch(after: cursors, maxEvents: maxEvents, maxBytes: maxBytes) { info, body in
            rows.append(OutboxRow(seq: info.seq, priority: info.priority, committedAt: info.committedAt,
                                  body: String(decoding: body, as: UTF8.self)))
        }
        return rows
    }

    /// `nextBatch` without copies: each row's stored JSON is handed to `body` straight from SQLite's
    /// buffer (valid during the call only), so the uplink writes it into the batch payload directly.
    /// Returns the rows read, in drain order.
    @discardableResult
    public func readBatch(after cursors: [PriorityClass: Int64], maxEvents: Int, maxBytes: Int,
                          _ body: (OutboxRowInfo, UnsafeRawBufferPointer) throws -> Void) throws -> [OutboxRowInfo] {
        try pool.read { db in
            var rows: [OutboxRowInfo] = []
            rows.reserveCapacity(min(maxEvents, 4096))
            var bytes = 0
            let select = try db.cachedStatement(sql: """
                SELECT seq, committed_at, bytes, body FROM events WHERE priority = ? AND seq > ? ORDER BY seq LIMIT ?
                """)
            for cls in Self.drainOrder {
                let cursor = try Row.fetchCursor(select, arguments: [cls.rank, cursors[cls] ?? 0, maxEvents - rows.count])
                while let row = try cursor.next() {
                    let size: Int = row[2]
                    if !rows.isEmpty && bytes + size > maxBytes { return rows }
                    let info = OutboxRowInfo(seq: row[0], priority: cls, committedAt: Timestamp(milliseconds: row[1]))
                    try row.withUnsafeData(atIndex: 3) { data in
                        guard let data else { throw StoreError.corruptRow(seq: info.seq, reason: "no body") }
                        try data.withUnsafeBytes { try body(info, $0) }
                    }
                    rows.append(info)
                    bytes += size
                }
                if rows.count >= maxEvents { break }
            }
            return rows
        }
    }

    static let deletesPerCheckpoint = 8

    /// Deletes what the central acknowledged; returns how many events went.
    ///
    /// Not synced: a delete lost in a power failure only sends those events again, and the central
    /// drops them as duplicates. Its WAL frames become durable with the next synced commit (the
    /// WAL is appended to and synced whole). Checkpoints stay in synced commits only: a checkpoint
    /// here could move committed events into the database file without a sync, and a WAL reset
    /// after it would leave them nowhere durable.
    @discardableResult
    public func deleteAcknowledged(_ ranges: [SeqRange]) throws -> Int {
        guard !ranges.isEmpty else { return 0 }
        return try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 0; PRAGMA synchronous = OFF")
            var outcome: Result<Int, any Error> = .success(0)
            do {
                try db.inTransaction {
                    var events = 0, bytes = 0
                    let delete = try db.cachedStatement(sql: "DELETE FROM events WHERE seq BETWEEN ? AND ? RETURNING bytes")
                    for r in ranges {
                        let sizes = try Int.fetchAll(delete, arguments: [r.from, r.to])
                        events += sizes.count
                        bytes += sizes.reduce(0, +)
                    }
                    adjustTotalsOnCommit(db, events: -events, bytes: -bytes)
                    outcome = .success(events)
                    return .commit
                }
            } catch {
                outcome = .failure(error)
            }
            // Back to the durable settings before anything else uses the writer; a failure here is
            // thrown, never ignored.
            try db.execute(sql: "PRAGMA synchronous = \(limits.synchronousMode); PRAGMA wal_autocheckpoint = 1000")
            let events = try outcome.get()
            // A long drain has no ingest commits to checkpoint the WAL: do it here every few deletes,
            // synced, so the WAL stays small.
            let due = deletesSinceCheckpoint.withLock { n -> Bool in
                n += 1
                if n < Self.deletesPerCheckpoint { return false }
                n = 0
                return true
            }
            if due { try db.execute(sql: "PRAGMA wal_checkpoint(PASSIVE)") }
            return events
        }
    }

    public var outboxTotals: OutboxTotals { totals.withLock { $0 } }

    /// Commit time of the oldest event still in the outbox.
    public func oldestCommittedAt() throws -> Timestamp? {
        try pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT committed_at FROM events ORDER BY seq LIMIT 1").map(Timestamp.init(milliseconds:))
        }
    }

    public func drops() throws -> [OutboxDrop] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT reason, class, count FROM drops ORDER BY reason, class").map {
                OutboxDrop(reason: $0["reason"], priorityClass: PriorityClass(rawValue: $0["class"]) ?? .summary, count: $0["count"])
            }
        }
    }

    /// Over a limit: the lowest-priority oldest events go first (never gap records). Drops
    /// accumulate in `pending_gaps` (one row per reason and class), so a long outage adds no
    /// outbox rows of its own; the uplink turns them into gap records when it sends.
    func enforceCapacity(db: Database, uncommitted: OutboxTotals) throws {
        // What the outbox holds once this transaction commits: committed totals plus its own inserts.
        var t = totals.withLock { $0 }
        t.events += uncommitted.events
        t.bytes += uncommitted.bytes
        guard t.events > limits.maxEvents || t.bytes > limits.maxBytes else { return }
        for cls in Self.drainOrder.reversed() {
            var dropped = 0, droppedBytes = 0
            var first: Int64?, last: Int64?
            var lastSeq: Int64 = 0
            let select = try db.cachedStatement(sql: """
                SELECT seq, bytes, occurred_at FROM events WHERE priority = ? AND type != 'gap' AND seq > ? ORDER BY seq LIMIT 1000
                """)
            scan: while t.events > limits.maxEvents || t.bytes > limits.maxBytes {
                let rows = try Row.fetchAll(select, arguments: [cls.rank, lastSeq])
                if rows.isEmpty { break }
                for row in rows {
                    guard t.events > limits.maxEvents || t.bytes > limits.maxBytes else { break scan }
                    let size: Int = row["bytes"], at: Int64 = row["occurred_at"]
                    lastSeq = row["seq"]
                    t.events -= 1
                    t.bytes -= size
                    dropped += 1
                    droppedBytes += size
                    first = min(first ?? at, at)
                    last = max(last ?? at, at)
                }
            }
            guard dropped > 0, let first, let last else { continue }
            try db.execute(sql: "DELETE FROM events WHERE priority = ? AND type != 'gap' AND seq <= ?", arguments: [cls.rank, lastSeq])
            adjustTotalsOnCommit(db, events: -dropped, bytes: -droppedBytes)
            try recordDrop(db: db, reason: "capacity", cls: cls, count: dropped, first: first, last: last)
        }
    }

    /// Drops events older than their class's TTL; the drops become gap records like capacity drops.
    public func expire(now: Timestamp = .now()) throws {
        guard !limits.ttl.isEmpty else { return }
        try pool.write { db in
            for (cls, ttl) in limits.ttl.sorted(by: { $0.key < $1.key }) {
                let cutoff = (now - ttl).milliseconds
                let row = try Row.fetchOne(db, sql: """
                    SELECT COUNT(*), COALESCE(SUM(bytes), 0), MIN(occurred_at), MAX(occurred_at) FROM events
                    WHERE priority = ? AND type != 'gap' AND committed_at < ?
                    """, arguments: [cls.rank, cutoff])!
                let count: Int = row[0]
                guard count > 0 else { continue }
                try db.execute(sql: "DELETE FROM events WHERE priority = ? AND type != 'gap' AND committed_at < ?", arguments: [cls.rank, cutoff])
                let bytes: Int = row[1]
                adjustTotalsOnCommit(db, events: -count, bytes: -bytes)
                try recordDrop(db: db, reason: "ttl", cls: cls, count: count, first: row[2], last: row[3])
            }
        }
    }

    /// Turns accumulated drops into gap records in the outbox (alarm class: they go first).
    /// Called by the uplink before it reads a batch; returns the records committed.
    @discardableResult
    public func materializePendingGaps(now: Timestamp = .now()) throws -> [EventEnvelope] {
        guard gapsPending.withLock({ $0 }) else { return [] }
        let epoch = bootEpoch
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try pool.write { db in
            let gaps = try Row.fetchAll(db, sql: "SELECT reason, class, count, first_at, last_at FROM pending_gaps ORDER BY reason, class").map { row in
                gapRecord(PriorityClass(rawValue: row["class"]) ?? .summary, count: row["count"],
                          from: Timestamp(milliseconds: row["first_at"]), to: Timestamp(milliseconds: row["last_at"]),
                          reason: row["reason"], now: now)
            }
            try db.execute(sql: "DELETE FROM pending_gaps")
            db.afterNextTransaction { [self] _ in gapsPending.withLock { $0 = false } }
            return try insert(gaps, db: db, epoch: epoch, now: now, encoder: encoder).0
        }
    }

    private func gapRecord(_ cls: PriorityClass, count: Int, from: Timestamp, to: Timestamp, reason: String,
                           now: Timestamp) -> EventEnvelope {
        EventEnvelope(
            eventID: UUID().uuidString.lowercased(), site: identity.site, edge: identity.edge, equipment: "-", signal: "-",
            type: .gap, priority: EventType.gap.defaultPriority, occurredAt: now, timeSource: .receive, edgeReceivedAt: now,
            values: ["class": .text(cls.rawValue), "count": .number(Double(count)), "from": .text(from.rfc3339),
                     "to": .text(to.rfc3339), "reason": .text(reason)],
            rule: "outbox.\(reason)")
    }

    private func recordDrop(db: Database, reason: String, cls: PriorityClass, count: Int, first: Int64, last: Int64) throws {
        try db.execute(sql: """
            INSERT INTO drops (reason, class, count) VALUES (?, ?, ?)
            ON CONFLICT(reason, class) DO UPDATE SET count = count + excluded.count
            """, arguments: [reason, cls.rawValue, count])
        try db.execute(sql: """
            INSERT INTO pending_gaps (reason, class, count, first_at, last_at) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT(reason, class) DO UPDATE SET count = count + excluded.count,
                first_at = min(first_at, excluded.first_at), last_at = max(last_at, excluded.last_at)
            """, arguments: [reason, cls.rawValue, count, first, last])
        gapsPending.withLock { $0 = true }
    }
}
