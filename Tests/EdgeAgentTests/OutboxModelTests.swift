import EdgeConfig
import Foundation
import GRDB
import MillwrightCore
import PropertyBased
import Testing
import TestSupport
@testable import EdgeAgent

/// The outbox against a model of what it must hold (Vector tests its disk buffer this way): random
/// sequences of commit, failed commit (SQLite full, rolled back), retry, acknowledgement, TTL expiry,
/// capacity pressure, gap records and restart. After every step the outbox holds exactly the events
/// the model says, its in-memory totals equal what is committed, and every event committed is
/// still there, acknowledged, or counted as dropped: no event leaves the outbox any other way.
@Suite struct OutboxModelTests {
    /// What the outbox should hold: seq -> (class, commit time, is a gap record).
    struct Model {
        var events: [Int64: (cls: PriorityClass, committedAt: Int64, gap: Bool)] = [:]
        var committed = 0
        /// Acknowledged events, gap records not counted (they were never committed events).
        var acknowledged = 0
        var dropped = 0
        let maxEvents: Int
        let ttl: [PriorityClass: Int64]

        /// The capacity policy as documented: lowest class first, oldest first, never gap records.
        mutating func enforceCapacity() {
            for cls in PriorityClass.allCases.sorted().reversed() where events.count > maxEvents {
                for seq in events.filter({ $0.value.cls == cls && !$0.value.gap }).keys.sorted() where events.count > maxEvents {
                    events[seq] = nil
                    dropped += 1
                }
            }
        }

        mutating func expire(now: Int64) {
            for (cls, ttl) in ttl {
                for (seq, e) in events where e.cls == cls && !e.gap && e.committedAt < now - ttl {
                    events[seq] = nil
                    dropped += 1
                }
            }
        }
    }

    static let types: [EventType] = [.limitRaised, .count, .stateChanged, .summary]

    func event(_ i: Int) -> EventEnvelope {
        let type = Self.types[i % Self.types.count]
        return EventEnvelope(eventID: UUID().uuidString, site: "s", edge: "e", equipment: "m\(i % 3)", signal: "x", type: type,
                             priority: type.defaultPriority, occurredAt: Timestamp(milliseconds: 1_764_000_000_000 + Int64(i)),
                             timeSource: .sensor, edgeReceivedAt: Timestamp(milliseconds: 1_764_000_000_000 + Int64(i)),
                             values: ["v": .number(Double(i)), "pad": .text(String(repeating: "x", count: i % 7 * 20))],
                             rule: "x.\(type.rawValue)")
    }

    /// One random history; `steps` are (operation, size) pairs.
    func check(_ steps: [(Int, Int)]) throws {
        let dir = try TemporaryDirectory.make(prefix: "outbox-model")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("edge.sqlite").path
        var limits = OutboxConfig()
        limits.maxEvents = 60
        limits.ttl = [.summary: Millis(50_000)]
        var store = try EdgeStore(path: path, site: "s", edge: "e", limits: limits)
        var model = Model(maxEvents: limits.maxEvents, ttl: [.summary: 50_000])
        var clock: Int64 = 1_800_000_000_000
        var next = 0
        var retry: [EventEnvelope]?
        for (op, size) in steps {
            clock += 7_000
            switch op % 8 {
            case 0, 1, 2:
                // A commit (or the retry of one that failed, as the writer does).
                let batch = retry ?? (0..<size).map { _ in next += 1; return event(next) }
                retry = nil
                let committed = try store.commit(PipelineOutput(events: batch), keepQuarantine: 0, now: Timestamp(milliseconds: clock))
                for e in committed { model.events[e.seq!] = (e.priority, clock, false) }
                model.committed += committed.count
                model.enforceCapacity()
            case 3:
                // Disk full: the transaction fails and rolls back; the batch is kept for a retry.
                let batch = retry ?? (0..<(size + 40)).map { _ in next += 1; return event(next) }
                try store.pool.writeWithoutTransaction { db in
                    let pages = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 1
                    try db.execute(sql: "PRAGMA max_page_count = \(pages)")
                }
                do {
                    let committed = try store.commit(PipelineOutput(events: batch), keepQuarantine: 0, now: Timestamp(milliseconds: clock))
                    // It fitted in free pages after all: a commit like any other.
                    for e in committed { model.events[e.seq!] = (e.priority, clock, false) }
                    model.committed += committed.count
                    model.enforceCapacity()
                } catch {
                    retry = batch
                }
                try store.pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA max_page_count = 1073741823") }
            case 4:
                // The central acknowledges some of what is there (a few ranges).
                let present = model.events.keys.sorted()
                guard !present.isEmpty else { continue }
                let picked = present.enumerated().filter { ($0.offset + size) % 3 == 0 }.map(\.element)
                let deleted = try store.deleteAcknowledged(SeqRange.covering(picked))
                #expect(deleted == picked.count, "an ack deletes exactly what it names")
                for s in picked {
                    if model.events[s]?.gap == false { model.acknowledged += 1 }
                    model.events[s] = nil
                }
            case 5:
                try store.expire(now: Timestamp(milliseconds: clock))
                model.expire(now: clock)
            case 6:
                let gaps = try store.materializePendingGaps(now: Timestamp(milliseconds: clock))
                for g in gaps { model.events[g.seq!] = (g.priority, clock, true) }
            default:
                // Restart: totals are read back from the file.
                store = try EdgeStore(path: path, site: "s", edge: "e", limits: limits)
            }
            // The outbox holds exactly what the model says...
            let actual = try store.pool.read { db in try Int64.fetchAll(db, sql: "SELECT seq FROM events ORDER BY seq") }
            #expect(actual == model.events.keys.sorted(), "step \(op % 8) size \(size): outbox differs from the model")
            // ...its totals are what is committed (no drift from rolled-back writes)...
            let (count, bytes) = try store.pool.read { db -> (Int, Int) in
                let row = try Row.fetchOne(db, sql: "SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM events")!
                return (row[0], row[1])
            }
            #expect(store.outboxTotals == OutboxTotals(events: count, bytes: bytes), "in-memory totals drifted from the file")
            // ...and every committed event is there, acknowledged, or counted as dropped.
            let droppedRecorded = try store.drops().reduce(0) { $0 + $1.count }
            #expect(droppedRecorded == model.dropped, "drops recorded \(droppedRecorded), model \(model.dropped)")
            let present = model.events.values.filter { !$0.gap }.count
            #expect(model.committed == present + model.acknowledged + model.dropped, "an event left the outbox some other way")
            if actual != model.events.keys.sorted() { return }
        }
    }

    @Test func outboxMatchesItsModelThroughFaultsAndRestarts() async throws {
        // Each step is one number: operation = n % 8, size = n / 8 + 1.
        let steps = Gen.int(in: 0...239).array(of: 10...60)
        await propertyCheck(count: 60, input: steps) { codes in
            do { try check(codes.map { ($0 % 8, $0 / 8 + 1) }) } catch { Issue.record("history failed with \(error)") }
        }
    }

    /// The reproduction from the field: an outbox holding 1,000 of max 3,000, 500 more readings during
    /// a full disk retried many times; once space returns nothing may be dropped.
    @Test func retriesDuringAFullDiskDoNotInflateTotals() throws {
        var history: [(Int, Int)] = []
        for _ in 0..<10 { history.append((3, 30)) }   // ten failed commits of the same kind
        history.append((0, 5))                        // space returns: the retry commits
        try check(history)
    }
}
