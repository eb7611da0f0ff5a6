import EdgeConfig
import Foundation
import MillwrightCore
import Testing
import TestSupport
@testable import EdgeAgent

@Suite struct OutboxTests {
    func store(_ limits: OutboxConfig = OutboxConfig()) throws -> EdgeStore {
        let dir = try TemporaryDirectory.make(prefix: "outbox")
        return try EdgeStore(path: dir.appendingPathComponent("edge.sqlite").path, site: "s", edge: "e", limits: limits)
    }

    func event(_ type: EventType, at ms: Int64 = 1_764_000_000_000) -> EventEnvelope {
        EventEnvelope(eventID: UUID().uuidString, site: "s", edge: "e", equipment: "m1", signal: "x", type: type,
                      priority: type.defaultPriority, occurredAt: Timestamp(milliseconds: ms), timeSource: .sensor,
                      edgeReceivedAt: Timestamp(milliseconds: ms), values: ["v": 1], rule: "x.\(type.rawValue)")
    }

    @Test func commitsAreFullySynchronousUnlessConfiguredOtherwise() throws {
        #expect(try store().synchronousMode() == 2, "FULL: an event survives power loss once committed")
        var normal = OutboxConfig()
        normal.synchronousFull = false
        #expect(try store(normal).synchronousMode() == 1)
    }

    @Test func sequenceNumbersNeverGoBackAcrossTheV4RebuildEvenWhenEmpty() throws {
        let s = try store()
        try s.commit(PipelineOutput(events: (0..<5).map { _ in event(.count) }), keepQuarantine: 0)
        try s.deleteAcknowledged([SeqRange(1, 5)])
        // Reopen (migrations already applied) and commit: seq continues after 5 even though the table was empty.
        let reopened = try EdgeStore(path: s.path, site: "s", edge: "e")
        let next = try reopened.commit(PipelineOutput(events: [event(.count)]), keepQuarantine: 0)
        #expect(next.first?.seq == 6)
    }

    @Test func drainsAlarmsFirstThenByClassAndSeqAndRespectsCursors() throws {
        let s = try store()
        try s.commit(PipelineOutput(events: [event(.summary), event(.count), event(.limitRaised), event(.stateChanged), event(.summary), event(.limitCleared)]),
                     keepQuarantine: 0)
        let all = try s.nextBatch(after: [:], maxEvents: 100, maxBytes: 1 << 20)
        #expect(all.map(\.seq) == [3, 6, 2, 4, 1, 5])
        #expect(all.map(\.priority) == [.alarm, .alarm, .count, .state, .summary, .summary])
        let two = try s.nextBatch(after: [:], maxEvents: 2, maxBytes: 1 << 20)
        #expect(two.map(\.seq) == [3, 6])
        // With the alarms in flight, the next batch starts with counts; a new alarm still jumps ahead.
        try s.commit(PipelineOutput(events: [event(.limitRaised)]), keepQuarantine: 0)
        let next = try s.nextBatch(after: [.alarm: 6], maxEvents: 2, maxBytes: 1 << 20)
        #expect(next.map(\.seq) == [7, 2])
        #expect(all.allSatisfy { $0.body.contains(#""seq":\#($0.seq)"#) })
    }

    @Test func deletingAcknowledgedRangesKeepsTotalsExact() throws {
        let s = try store()
        try s.commit(PipelineOutput(events: (0..<10).map { _ in event(.count) }), keepQuarantine: 0)
        let before = s.outboxTotals
        #expect(before.events == 10 && before.bytes > 0)
        #expect(try s.deleteAcknowledged([SeqRange(1, 3), SeqRange(8, 20)]) == 6)
        #expect(s.outboxTotals.events == 4)
        #expect(try s.eventCount() == 4)
        let reopened = try EdgeStore(path: s.path, site: "s", edge: "e")
        #expect(reopened.outboxTotals == s.outboxTotals, "totals after a restart match the running count")
        #expect(reopened.bootEpoch > s.bootEpoch)
    }

    /// Deletes of acknowledged events run unsynced (a lost delete only resends), but the writer is
    /// back to FULL afterwards, and a long drain with no ingest still checkpoints: the WAL stays small.
    @Test func unsyncedDeletesRestoreDurabilityAndKeepTheWALBounded() throws {
        let s = try store()
        for _ in 0..<40 {
            try s.commit(PipelineOutput(events: (0..<250).map { _ in event(.count) }), keepQuarantine: 0)
        }
        let walPath = s.path + "-wal"
        var largest: UInt64 = 0
        for k in Int64(0)..<100 {
            #expect(try s.deleteAcknowledged([SeqRange(k * 100 + 1, k * 100 + 100)]) == 100)
            #expect(try s.synchronousMode() == 2, "the writer is synchronous FULL again after a delete")
            let size = try FileManager.default.attributesOfItem(atPath: walPath)[.size] as? UInt64
            largest = max(largest, size ?? 0)
        }
        #expect(try s.eventCount() == 0)
        // 100 deletes without a commit: with the drain's own checkpoints the WAL is reused and stays at
        // the auto-checkpoint size (1000 pages, about 4 MB); without them it grew to 9.9 MB here.
        #expect(largest < 6 << 20, "largest WAL during the deletes: \(largest) bytes")
    }

    @Test func capacityDropsLowestPriorityOldestFirstAndAccumulatesOneGapPerClass() throws {
        var limits = OutboxConfig()
        limits.maxEvents = 10
        let s = try store(limits)
        for i in 0..<6 {
            try s.commit(PipelineOutput(events: [event(.limitRaised, at: 1000 + Int64(i)), event(.summary, at: 2000 + Int64(i)),
                                                 event(.summary, at: 3000 + Int64(i))]), keepQuarantine: 0)
        }
        // 18 committed into room for 10: 8 summaries went, the oldest first; no alarm.
        let rows = try s.nextBatch(after: [:], maxEvents: 100, maxBytes: 1 << 20)
        #expect(rows.filter { $0.priority == .alarm }.count == 6)
        #expect(rows.filter { $0.priority == .summary }.count == 4)
        #expect(try s.drops() == [OutboxDrop(reason: "capacity", priorityClass: .summary, count: 8)])
        // The drops become one gap record when the uplink is about to send.
        let gaps = try s.materializePendingGaps()
        #expect(gaps.count == 1)
        #expect(gaps.first?.values["count"] == .number(8))
        #expect(gaps.first?.values["class"] == .text("summary"))
        #expect(gaps.first?.values["from"] == .text(Timestamp(milliseconds: 2000).rfc3339))
        #expect(gaps.first?.priority == .alarm)
        #expect(try s.materializePendingGaps().isEmpty)
    }

    @Test func ttlExpiresOnlyItsClassWithGapAccounting() throws {
        var limits = OutboxConfig()
        limits.ttl = [.summary: .seconds(60)]
        let s = try store(limits)
        let t0 = Timestamp(milliseconds: 1_764_000_000_000)
        try s.commit(PipelineOutput(events: [event(.summary), event(.summary), event(.limitRaised)]), keepQuarantine: 0, now: t0)
        try s.expire(now: t0 + .seconds(30))
        #expect(try s.eventCount() == 3)
        try s.expire(now: t0 + .seconds(61))
        #expect(try s.eventCount() == 1)
        #expect(try s.drops() == [OutboxDrop(reason: "ttl", priorityClass: .summary, count: 2)])
        #expect(try s.materializePendingGaps().first?.values["reason"] == .text("ttl"))
    }
}
