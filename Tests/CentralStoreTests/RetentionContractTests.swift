@testable import CentralIngest
import CentralPostgres
import CentralSQLite
import CentralSync
import Foundation
import MillwrightCore
import Reconciliation
import TestSupport
import Testing

/// Retention on every backend: expired events go, class by class, a chunk at a time, after the
/// archive has them; what the synchronisation still needs stays (an unacknowledged posting's
/// sources, events the immediate tier has not read, a hold, the newest row); a trace names what
/// retention took, and `archive load` puts it back where no feed reads it again.
@Suite struct RetentionContractTests {
    typealias C = IngestStoreContractTests
    /// When the events were sent and stored: 2025-11-24.
    let t0 = Timestamp(milliseconds: 1_764_000_100_000)
    /// 400 days on: summaries (90 d) and states (365 d) have expired, counts and alarms (730 d) not.
    var later: Timestamp { t0 + .days(400) }

    struct Stores {
        let ingest: any IngestStore
        let sync: any SyncState
        let retention: any RetentionStore
    }

    func open(_ backend: StoreBackend) async throws -> Stores {
        switch backend {
        case .sqlite:
            let dir = try TemporaryDirectory.make(prefix: "retention")
            let db = try CentralStore(path: dir.appendingPathComponent("central.sqlite").path)
            return Stores(ingest: SQLiteIngestStore(db), sync: SQLiteSyncState(try SyncStore(central: db)), retention: SQLiteRetentionStore(db))
        case .postgresql:
            let db = try await StoreBackend.freshPostgres()
            return Stores(ingest: PostgresIngestStore(db), sync: PostgresSyncState(db, holder: "retention-test"), retention: PostgresRetentionStore(db))
        }
    }

    /// gw-1: seqs 1-10 summaries, 11-20 counts, 21-25 alarms (limit_raised), 26-35 state changes.
    func batch(edge: String = "gw-1", _ seqs: ClosedRange<Int64>) throws -> ValidBatch {
        let events = seqs.map { seq -> String in
            switch seq {
            case ...10: C.envelope(edge: edge, seq: seq, type: .summary, values: ["mean": 1.5])
            case 11...20: C.envelope(edge: edge, seq: seq, type: .count, values: ["delta": 3])
            case 21...25: C.envelope(edge: edge, seq: seq, type: .limitRaised, values: ["limit": "high", "value": 91])
            default: C.envelope(edge: edge, seq: seq, type: .stateChanged)
            }
        }
        return try BatchDecoder.decode(topic: C.topic(edge), payload: C.payload(edge: edge, batch: "b\(seqs.lowerBound)", events),
                                       maxBytes: 16 << 20).get()
    }

    /// The first `count` events of the feed; on PostgreSQL the feed holds back while another test's
    /// transaction on the shared server runs, so it is followed until they are there.
    func feed(_ s: Stores, _ count: Int) async throws -> [FeedEvent] {
        let deadline = ContinuousClock.now + .seconds(60)
        while true {
            let page = try await s.ingest.events(after: .start, .all, limit: count)
            if page.count >= count || ContinuousClock.now > deadline { return page }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    func keys(_ s: Stores, _ seqs: ClosedRange<Int64>, edge: String = "gw-1") async throws -> [Int64] {
        var out: [Int64] = []
        for seq in seqs where try await s.ingest.event(edge: edge, bootEpoch: 3, seq: seq) != nil { out.append(seq) }
        return out
    }

    @Test(arguments: StoreBackend.allCases)
    func deletesWhatExpiredAndKeepsWhatIsStillNeeded(_ backend: StoreBackend) async throws {
        let s = try await open(backend)
        _ = try await s.ingest.commit([try batch(1...35)], rejected: [], now: t0)
        // The immediate tier has read up to seq 30: 31-35 are still to come for it.
        let read = try await feed(s, 30)
        try #require(read.count == 30)
        _ = try await s.sync.apply(postings: [
            // A posting still to deliver stands on summary 5; a delivered one on summary 6.
            NewPosting(idempotencyKey: "p-pending", target: "erp", kind: .maintenanceNotification, payload: "{}", sources: ["gw-1:3:5"]),
            NewPosting(idempotencyKey: "p-acked", target: "erp", kind: .maintenanceNotification, payload: "{}", sources: ["gw-1:3:6"]),
        ], reviews: [], cursor: ("event_postings", read[29].position), now: t0)
        let acked = try #require(try await s.sync.postings().first { $0.idempotencyKey == "p-acked" })
        try await s.sync.record(.attempt, posting: acked.id, claim: acked.claim, now: t0)
        try await s.sync.record(.acknowledge(documentRef: "doc:6", note: "created"), posting: acked.id, claim: acked.claim, now: t0)
        // A hold on summary 8's time (as `archive load` makes).
        let at8 = Timestamp(milliseconds: 1_764_000_000_008)
        try await s.retention.addHold(RetentionHoldRange(site: "plant-a", from: at8, to: at8 + Millis(1), until: later + .days(1), reason: "test"))

        let archiveDir = try TemporaryDirectory.make(prefix: "archive")
        var settings = RetentionSettings()
        settings.chunk = 3
        settings.archiveDir = archiveDir.path
        let job = RetentionJob(settings: settings, store: s.retention, needs: s.sync,
                               feedCursor: { [sync = s.sync] in try await sync.cursor("event_postings") }, logger: StoreBackend.logger)
        let run = await job.run(now: later)
        #expect(run.error == nil)
        // Summaries: all but 5 (pending posting) and 8 (hold). Counts and alarms: not expired.
        // States: 26-30 (31-35 are after the immediate tier's cursor; 35 is also the newest row).
        #expect(try await keys(s, 1...10) == [5, 8])
        #expect(try await keys(s, 11...25) == Array(11...25))
        #expect(try await keys(s, 26...35) == Array(31...35))
        #expect(run.deleted == ["summaries": 8, "states": 5] && run.archived == 13 && run.kept == 2, "\(run)")
        #expect(try await s.retention.lastRun()?.deleted == run.deleted)

        // The archive has exactly what went, by site and day; the bodies are as stored.
        let file = EventArchive(directory: archiveDir.path).file(site: "plant-a", day: "2025-11-24")
        let archived = try EventArchive.read(file: file)
        #expect(Set(archived.map(\.seq)) == Set([1, 2, 3, 4, 6, 7, 9, 10, 26, 27, 28, 29, 30]))
        #expect(archived.first { $0.seq == 26 }?.body == C.envelope(edge: "gw-1", seq: 26))

        // A trace of the delivered posting names its deleted source.
        let back = try await Trace(store: s.sync, events: s.ingest).back(document: "doc:6")
        #expect(back.events.isEmpty && back.missing == ["gw-1:3:6"])

        // Once the immediate tier read on and a newer event arrived, the rest of the states go.
        _ = try await s.ingest.commit([try batch(edge: "gw-2", 26...26)], rejected: [], now: later)
        // 35 stored, 13 deleted, 1 more: 23 in the feed.
        let all = try await feed(s, 23)
        try #require(all.count == 23)
        _ = try await s.sync.apply(postings: [], reviews: [], cursor: ("event_postings", all.last!.position), now: later)
        let second = await job.run(now: later)
        #expect(second.deleted == ["states": 5], "\(second)")
        #expect(try await keys(s, 26...35) == [])
        #expect(try await keys(s, 26...26, edge: "gw-2") == [26], "not expired")

        // Loaded back: each once, byte for byte, outside every feed, and held.
        let restored = try await s.retention.restore(try EventArchive.read(file: file))
        #expect(restored == 18)
        #expect(try await s.retention.restore(try EventArchive.read(file: file)) == 0)
        #expect(try await keys(s, 1...10) == Array(1...10))
        #expect(try await s.ingest.event(edge: "gw-1", bootEpoch: 3, seq: 26)?.body == C.envelope(edge: "gw-1", seq: 26))
        #expect(try await s.ingest.events(after: all.last!.position, .all, limit: 100).isEmpty, "loaded events are not fed again")
        #expect(try await Trace(store: s.sync, events: s.ingest).back(document: "doc:6").missing.isEmpty)
        await s.ingest.close()
    }

    @Test(arguments: StoreBackend.allCases)
    func withoutTheSynchronisationOnlyAgeHoldsAndTheNewestRowCount(_ backend: StoreBackend) async throws {
        let s = try await open(backend)
        _ = try await s.ingest.commit([try batch(26...30)], rejected: [], now: t0)
        var settings = RetentionSettings()
        settings.keep[.states] = .some(nil)   // forever
        let forever = await RetentionJob(settings: settings, store: s.retention, needs: nil, feedCursor: nil, logger: StoreBackend.logger).run(now: later)
        #expect(forever.deleted.isEmpty && forever.error == nil)
        settings.keep[.states] = .days(365)
        let run = await RetentionJob(settings: settings, store: s.retention, needs: nil, feedCursor: nil, logger: StoreBackend.logger).run(now: later)
        // No archive set: deleted without one. The newest row stays (SQLite would give its id out again).
        #expect(run.deleted == ["states": 4] && run.archived == 0, "\(run)")
        #expect(try await keys(s, 26...30) == [30])
        #expect(try await s.retention.oldestEvents()["state_changed"] == Timestamp(milliseconds: 1_764_000_000_030))
        #expect(try await s.retention.storeBytes() > 0)
        await s.ingest.close()
    }

    /// Counts read back by the reconciliation (up to `reconcile.horizon` old) are never older than
    /// the counts' retention allows (`horizon` + 1 day at least): a pass after a retention run
    /// derives the same ledger and posts nothing new, while the counts past the horizon are gone.
    @Test(arguments: StoreBackend.allCases)
    func reconciliationIsTheSameAcrossARetentionRun(_ backend: StoreBackend) async throws {
        let s = try await open(backend)
        let config = try SyncConfiguration.parse(yaml: """
            central: c
            broker: { host: 127.0.0.1, port: 1 }
            erp: { tryton: { url: "http://127.0.0.1:1", database: d, password: x } }
            equipment:
              press-01: { work_center: WC-1, yield: parts }
            retention: { counts: 31d }
            """)
        let now = Timestamp.now()
        try await s.sync.upsertOrders([ERPOrder(id: 1, number: "PO-1", reference: "", state: .running, productID: 1, productCode: "P",
                                                quantity: 1000, unitID: 1, companyID: 1, productionLocationID: 9, storageLocationID: 3,
                                                scrapLocationID: nil, plannedInputs: [:],
                                                works: [ERPWork(id: 1, operation: "Op", workCenter: "WC-1", state: "running")])], now: now)
        try await s.sync.recordAssignmentChange(equipment: "press-01", orderRef: "PO-1", operation: "", action: .start,
                                                at: now - .days(60), source: .mes, operator: nil, now: now)
        // Ten counts of the last two days and ten of 45 days ago (past the 30-day horizon), stored as they happened.
        func counts(_ seqs: ClosedRange<Int64>, at start: Timestamp) throws -> ValidBatch {
            let events = seqs.map { seq -> String in
                let to = start + .seconds(seq * 600), from = to - .seconds(600)
                let e = EventEnvelope(eventID: "c\(seq)", site: "plant-a", edge: "gw-1", equipment: "press-01", signal: "parts", type: .count,
                                      priority: .count, occurredAt: to, timeSource: .sensor, edgeReceivedAt: to,
                                      values: ["delta": .number(Double(seq)), "from": .text(from.rfc3339), "to": .text(to.rfc3339)],
                                      rule: "parts.counter", bootEpoch: 3, seq: seq)
                return String(decoding: try! JSONEncoder().encode(e), as: UTF8.self)
            }
            return try BatchDecoder.decode(topic: C.topic("gw-1"), payload: C.payload(edge: "gw-1", batch: "c\(seqs.lowerBound)", events),
                                           maxBytes: 1 << 20).get()
        }
        _ = try await s.ingest.commit([try counts(1...10, at: now - .days(45))], rejected: [], now: now - .days(45))
        _ = try await s.ingest.commit([try counts(11...20, at: now - .days(2))], rejected: [], now: now - .days(2))
        let pass = ReconcilePass(config: config, store: s.sync, events: s.ingest)
        // On PostgreSQL the feed may hold back while another test's transaction runs: pass until it has them.
        let expected = Double((11...20).reduce(0, +))
        var postings: [Posting] = []
        let deadline = ContinuousClock.now + .seconds(180)
        repeat {
            _ = try await pass.run(now: now)
            postings = try await s.sync.postings()
        } while postings.map(\.quantity).reduce(0, +) != expected && ContinuousClock.now < deadline
        let ledger = try await pass.ledger(now: now)
        #expect(ledger.map(\.derived) == [expected], "only the counts inside the horizon: \(ledger)")
        #expect(postings.map(\.quantity).reduce(0, +) == expected, "\(postings)")

        let central = try CentralConfiguration.parse(yaml: "central: c\nbroker: { host: 127.0.0.1, port: 1 }\nretention: { counts: 31d }\n")
        let run = await RetentionJob(settings: central.retention, store: s.retention, needs: s.sync,
                                     feedCursor: { [sync = s.sync] in try await sync.cursor("event_postings") }, logger: StoreBackend.logger).run(now: now)
        #expect(run.deleted == ["counts": 10] && run.error == nil, "the counts past the horizon and the retention go: \(run)")
        #expect(try await keys(s, 1...20) == Array(11...20))
        let again = try await pass.run(now: now)
        #expect(again.postingsCreated == 0)
        #expect(try await pass.ledger(now: now) == ledger)
        #expect(try await s.sync.postings() == postings)
        await s.ingest.close()
    }
}
