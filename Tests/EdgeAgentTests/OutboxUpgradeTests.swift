import EdgeConfig
import Foundation
import GRDB
import MillwrightCore
import Testing
import TestSupport
@testable import EdgeAgent

/// docs/OPERATIONS.md, "Upgrade with a backlog in the outbox": an outbox written by the previous
/// release (schema v3, with the unique index on event_id that v4 drops) holding an undelivered
/// backlog, a pending gap record and rule state, opened by this release: the backlog is intact and
/// drains in the same order with the same bytes, sequence numbers go on after the old ones, and
/// the boot epoch moves past the stored one.
@Suite struct OutboxUpgradeTests {
    static let previousRelease = "v3: drops accumulate until the uplink sends them as gap records"

    @Test func aPreviousReleasesOutboxWithABacklogOpensAndDrainsUnchanged() throws {
        let dir = try TemporaryDirectory.make(prefix: "outbox-upgrade")
        let path = dir.appendingPathComponent("edge.sqlite").path
        let oldEpoch: Int64 = 1_790_000_000
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var bodies: [Int64: String] = [:]
        do {
            // The file as the previous release left it: its migrations, then its rows.
            let pool = try DatabasePool(path: path)
            try EdgeStore.migrator.migrate(pool, upTo: Self.previousRelease)
            try pool.write { db in
                try db.execute(sql: "INSERT INTO meta(key, value) VALUES ('boot_epoch', ?)", arguments: [oldEpoch])
                for seq in Int64(1)...300 {
                    let type: EventType = seq % 50 == 0 ? .limitRaised : .count
                    let e = EventEnvelope(eventID: UUID().uuidString, site: "s", edge: "e", equipment: "m1", signal: "x", type: type,
                                          priority: type.defaultPriority, occurredAt: Timestamp(milliseconds: 1_764_000_000_000 + seq),
                                          timeSource: .sensor, edgeReceivedAt: Timestamp(milliseconds: 1_764_000_000_000 + seq),
                                          values: ["delta": .number(Double(seq))], rule: "x.\(type.rawValue)", bootEpoch: oldEpoch, seq: seq)
                    let body = String(decoding: try encoder.encode(e), as: UTF8.self)
                    bodies[seq] = body
                    try db.execute(sql: """
                        INSERT INTO events (seq, event_id, boot_epoch, priority, type, equipment, signal, occurred_at, body, bytes, committed_at)
                        VALUES (?, ?, ?, ?, ?, 'm1', 'x', ?, ?, ?, ?)
                        """, arguments: [seq, e.eventID, oldEpoch, type.defaultPriority.rank, type.rawValue,
                                         e.occurredAt.milliseconds, body, body.utf8.count, e.occurredAt.milliseconds])
                }
                try db.execute(sql: """
                    INSERT INTO pending_gaps (reason, class, count, first_at, last_at) VALUES ('capacity', 'summary', 12, 1764000000000, 1764000001000)
                    """)
                try db.execute(sql: "INSERT INTO drops (reason, class, count) VALUES ('capacity', 'summary', 12)")
            }
        }

        let store = try EdgeStore(path: path, site: "s", edge: "e")
        #expect(store.bootEpoch > oldEpoch)
        #expect(store.outboxTotals.events == 300)
        #expect(store.outboxTotals.bytes == bodies.values.reduce(0) { $0 + $1.utf8.count })
        // The pending drop goes out first, as a gap record, then the backlog: alarms first, then counts.
        let gaps = try store.materializePendingGaps()
        #expect(gaps.count == 1 && gaps.first?.values["count"] == .number(12))
        let batch = try store.nextBatch(after: [:], maxEvents: 1000, maxBytes: 16 << 20)
        let old = batch.filter { $0.seq <= 300 }
        #expect(old.count == 300)
        #expect(old.prefix(6).map(\.seq) == [50, 100, 150, 200, 250, 300], "alarms first")
        #expect(old.allSatisfy { bodies[$0.seq] == $0.body }, "every stored event is sent byte for byte as the old release stored it")
        // New events continue the sequence after the old backlog.
        let next = try store.commit(PipelineOutput(events: [EventEnvelope(
            eventID: UUID().uuidString, site: "s", edge: "e", equipment: "m1", signal: "x", type: .count, priority: .count,
            occurredAt: .now(), timeSource: .sensor, edgeReceivedAt: .now(), values: ["delta": 1], rule: "x.count")]), keepQuarantine: 0)
        #expect((next.first?.seq ?? 0) > 301)
        try store.deleteAcknowledged([SeqRange(1, 300)])
        #expect(store.outboxTotals.events == 2)
    }
}
