import CentralIngest
import CentralPostgres
import CentralSQLite
import CentralSync
import Foundation
import MillwrightCore
import Reconciliation
import TestSupport
import Synchronization
import Testing

/// The synchronisation's stores, one concern at a time, on every backend: the postings outbox
/// (added once per key, due in order, every transition persisted with its audit, an edit checked
/// before it is stored), the feed cursors (moved only with the postings of the same pass), the
/// review queue, unassigned production and target health. A backend that differs from another in
/// any of these fails here, not in a plant.
@Suite struct PostingsStoreContractTests {
    static func open(_ backend: StoreBackend) async throws -> any SyncState {
        switch backend {
        case .sqlite:
            let dir = try TemporaryDirectory.make(prefix: "postings-contract")
            return SQLiteSyncState(try SyncStore(central: try CentralStore(path: dir.appendingPathComponent("central.sqlite").path)))
        case .postgresql:
            return PostgresSyncState(try await StoreBackend.freshPostgres(), holder: "contract")
        }
    }

    let t0 = Timestamp(milliseconds: 1_765_000_000_000)
    static let line = LineKey(orderID: 1, workID: 2, kind: .yield, bucket: 7)

    func move(_ key: String, _ quantity: Double, toLocation: Int64 = 10) throws -> String {
        try MovePayload(key: key, kind: .yield, orderID: 1, orderNumber: "MO1", orderReference: "PO-1", companyID: 1, quantity: quantity,
                        postingDate: "2025-12-06", eventTime: t0, revision: 1, line: Self.line.description, events: 2, unitPrice: 0,
                        productID: 5, productCode: "W", unitID: 1, fromLocationID: 7, toLocationID: toLocation).encoded()
    }

    @Test(arguments: StoreBackend.allCases)
    func theOutboxAddsOncePerKeyAndPersistsEveryTransitionWithItsAudit(_ backend: StoreBackend) async throws {
        let store = try await Self.open(backend)
        let key = "yield:\(Self.line):r1"
        let first = NewPosting(idempotencyKey: key, target: "tryton", kind: .yield, line: Self.line.description, orderID: 1, quantity: 5,
                               payload: try move(key, 5), sources: ["gw-1:3:1", "gw-1:3:2"])
        let notice = NewPosting(idempotencyKey: "escalation:gw-1:3:9", target: "uns", kind: .escalation, payload: "{}", sources: ["gw-1:3:9"])
        let ids = try await store.apply(postings: [first, notice], reviews: [], cursor: nil, now: t0)
        #expect(ids.count == 2)
        // The same key again (a pass repeated after a crash) adds nothing.
        #expect(try await store.apply(postings: [first], reviews: [], cursor: nil, now: t0 + .seconds(1)).isEmpty)
        #expect(try await store.postings().count == 2)
        #expect(try await store.postings(status: .pending, kind: .yield).map(\.idempotencyKey) == [key])
        // Found by its key (what a receiver's answer names), and nothing for a key nobody has.
        #expect(try await store.posting(key: key)?.id == ids.first)
        #expect(try await store.posting(key: "yield:nothing:r1") == nil)

        // Due in order of their time, then id; what was read back is what was written.
        let due = try await store.duePostings(now: t0 + .seconds(5), limit: 10)
        #expect(due.map(\.id) == ids)
        let p = try #require(due.first)
        let written = try move(key, 5)
        #expect(p.kind == .yield && p.quantity == 5 && p.line == Self.line.description && p.sources == ["gw-1:3:1", "gw-1:3:2"]
                && p.payload == written && p.attempts == 0 && p.status == .pending)
        #expect(try await store.postedLines().totals[Self.line] == 5)
        #expect(try await store.postings(citing: EventKey(edge: "gw-1", bootEpoch: 3, seq: 2)).map(\.id) == [p.id])

        // attempt -> retry -> attempt -> acknowledge, as the dispatcher does it under its claim.
        let claim = p.claim
        var now = try await store.record(.attempt, posting: p.id, claim: claim, now: t0 + .seconds(6))
        #expect(now.status == .sent && now.attempts == 1)
        let retryAt = t0 + .seconds(60)
        now = try await store.record(.retry(error: "HTTP 503", at: retryAt), posting: p.id, claim: claim, now: t0 + .seconds(7))
        #expect(now.status == .pending && now.lastError == "HTTP 503" && now.nextAttemptAt == retryAt)
        // (On a shared store the other posting is still claimed from the first read: not handed out twice.)
        #expect(!(try await store.duePostings(now: t0 + .seconds(8), limit: 10).map(\.id).contains(p.id)), "not due before its retry time")
        let again = try #require(try await store.duePostings(now: retryAt, limit: 10).first { $0.id == p.id })
        _ = try await store.record(.attempt, posting: p.id, claim: again.claim, now: retryAt)
        now = try await store.record(.acknowledge(documentRef: "stock.move:42", note: "created"), posting: p.id, claim: again.claim, now: retryAt)
        #expect(now.status == .acked && now.documentRef == "stock.move:42" && now.attempts == 2 && now.lastError == nil)
        #expect(try await store.posting(documentRef: "stock.move:42").map(\.id) == [p.id])
        #expect(try await store.posting(id: p.id) == now, "what `record` returns is what is stored")
        #expect(try await store.audit(postingID: p.id).map(\.action) == [.created, .acked])

        // An acknowledged posting is final, on every backend.
        await #expect(throws: PostingRefusal.alreadyAcknowledged(p.id, documentRef: "stock.move:42")) {
            try await store.replay(id: p.id, payload: nil, operator: "alice", now: retryAt)
        }
        await #expect(throws: PostingRefusal.noSuchPosting(999_999)) {
            try await store.record(.attempt, posting: 999_999, claim: nil, now: retryAt)
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func aDeadLetterIsReplayedOnlyWithAnEditThatFitsItsKind(_ backend: StoreBackend) async throws {
        let store = try await Self.open(backend)
        let key = "yield:\(Self.line):r1"
        let id = try #require(try await store.apply(postings: [NewPosting(idempotencyKey: key, target: "tryton", kind: .yield,
                                                                            line: Self.line.description, orderID: 1, quantity: 5,
                                                                            payload: try move(key, 5), sources: [])],
                                                    reviews: [], cursor: nil, now: t0).first)
        _ = try await store.record(.attempt, posting: id, claim: nil, now: t0)
        let dead = try await store.record(.deadLetter(error: "To Location is inactive"), posting: id, claim: nil, now: t0)
        #expect(dead.status == .dead && dead.lastError == "To Location is inactive")
        #expect(try await store.duePostings(now: t0 + .seconds(3600), limit: 10).isEmpty, "a dead letter waits for an operator")

        await #expect(throws: PostingRefusal.self) {
            try await store.replay(id: id, payload: try move(key, -5), operator: "alice", now: t0 + .seconds(1))
        }
        #expect(try await store.posting(id: id) == dead, "a refused edit changes nothing")
        #expect(try await store.audit(postingID: id).map(\.action) == [.created, .deadLettered])

        let fixed = try move(key, 5, toLocation: 4)
        let replayed = try await store.replay(id: id, payload: fixed, operator: "alice", now: t0 + .seconds(2))
        #expect(replayed.status == .pending && replayed.attempts == 0 && replayed.payload == fixed && replayed.idempotencyKey == key)
        #expect(try await store.posting(id: id) == replayed)
        let audit = try await store.audit(postingID: id)
        #expect(audit.map(\.action) == [.created, .deadLettered, .payloadEdited, .replayed])
        #expect(audit.last?.actor == "alice")
    }

    @Test(arguments: StoreBackend.allCases)
    func theCursorMovesOnlyWithThePassThatReadTheEvents(_ backend: StoreBackend) async throws {
        let store = try await Self.open(backend)
        #expect(try await store.cursor("event_postings") == .start)
        let position = FeedPosition(transaction: 0, row: 41)
        try await store.apply(postings: [], reviews: [], cursor: ("event_postings", position), now: t0)
        #expect(try await store.cursor("event_postings") == position)
        #expect(try await store.cursor("reconcile") == .start, "cursors are per reader")
    }

    @Test(arguments: StoreBackend.allCases)
    func reviewItemsAreSetUpdatedAndClearedByLine(_ backend: StoreBackend) async throws {
        let store = try await Self.open(backend)
        let late = LineKey(orderID: 3, workID: nil, kind: .scrap, bucket: 2)
        try await store.apply(postings: [], reviews: [ReviewChange(line: late, quantity: 4, reason: "order closed", sources: ["gw-1:1:1"])],
                              cursor: nil, now: t0)
        try await store.apply(postings: [], reviews: [ReviewChange(line: late, quantity: 6, reason: "order closed", sources: ["gw-1:1:1", "gw-1:1:2"])],
                              cursor: nil, now: t0 + .seconds(10))
        let items = try await store.reviewItems()
        #expect(items.count == 1)
        let item = try #require(items.first)
        #expect(item.orderID == 3 && item.kind == "scrap" && item.quantity == 6 && item.sources == ["gw-1:1:1", "gw-1:1:2"])
        #expect(item.firstSeen == t0 && item.updatedAt == t0 + .seconds(10), "first seen stays, updated moves")
        try await store.apply(postings: [], reviews: [ReviewChange(line: late, quantity: 0, reason: "", sources: [])], cursor: nil, now: t0 + .seconds(20))
        #expect(try await store.reviewItems().isEmpty)
    }

    @Test(arguments: StoreBackend.allCases)
    func unassignedSpansAreReplacedAndKeepWhenFirstSeen(_ backend: StoreBackend) async throws {
        let store = try await Self.open(backend)
        func span(_ quantity: Double, to: Timestamp) -> UnassignedSpan {
            UnassignedSpan(equipment: "press-1", kind: .yield, material: "", after: t0, before: nil, from: t0 + .seconds(5), to: to,
                           quantity: quantity, events: [EventKey(edge: "gw-1", bootEpoch: 1, seq: 1)])
        }
        try await store.replaceUnassigned([span(3, to: t0 + .seconds(10))], now: t0 + .seconds(11))
        try await store.replaceUnassigned([span(5, to: t0 + .seconds(20))], now: t0 + .seconds(21))
        let items = try await store.unassigned()
        #expect(items.count == 1)
        #expect(items.first?.span.quantity == 5 && items.first?.span.to == t0 + .seconds(20))
        #expect(items.first?.firstSeen == t0 + .seconds(11), "the same gap keeps when it was first seen")
        try await store.replaceUnassigned([], now: t0 + .seconds(30))
        #expect(try await store.unassigned().isEmpty)
    }

    @Test(arguments: StoreBackend.allCases)
    func targetHealthKeepsTheBreakerAndTheLastSuccess(_ backend: StoreBackend) async throws {
        let store = try await Self.open(backend)
        try await store.recordTargetHealth("cmms", breaker: .closed, failures: 0, success: true, error: nil, now: t0)
        try await store.recordTargetHealth("cmms", breaker: .open, failures: 5, success: false, error: "HTTP 500", now: t0 + .seconds(9))
        try await store.recordTargetHealth("uns", breaker: .halfOpen, failures: 1, success: false, error: "no PUBACK", now: t0 + .seconds(9))
        let health = try await store.targetHealth()
        #expect(health.map(\.target) == ["cmms", "uns"])
        #expect(health.first == TargetHealth(target: "cmms", breaker: .open, failures: 5, lastSuccess: t0, lastError: "HTTP 500"))
        #expect(health.last?.breaker == .halfOpen && health.last?.lastSuccess == nil)
    }

    /// Word of postings another process made due: on PostgreSQL another replica's watcher hears of a
    /// pass that added postings and of an operator's replay (at their commit), and stops when
    /// cancelled (a dispatcher's shutdown must not hang on it); the SQLite file's watcher, with no
    /// other replica to hear from, returns at once.
    @Test(arguments: StoreBackend.allCases)
    func postingsMadeDueElsewhereAreAnnounced(_ backend: StoreBackend) async throws {
        guard backend == .postgresql else {
            try await Self.open(backend).watchArrivals {}
            return
        }
        let database = try await StoreBackend.freshPostgres()
        let pass = PostgresSyncState(database, holder: "replica-a"), other = PostgresSyncState(database, holder: "replica-b")
        // LISTEN starts asynchronously and a NOTIFY before it is not kept: announce until one is heard.
        let heardAdded = Mutex(0)
        let watcher = Task { try await other.watchArrivals { heardAdded.withLock { $0 += 1 } } }
        defer { watcher.cancel() }
        var added: [Int64] = []
        for i in 0..<100 where heardAdded.withLock({ $0 }) == 0 {
            let key = "escalation:gw-1:3:\(i)"
            added += try await pass.apply(postings: [NewPosting(idempotencyKey: key, target: "uns", kind: .escalation, payload: "{}",
                                                               sources: ["gw-1:3:\(i)"])], now: t0)
            _ = await eventuallyAsync(timeout: 0.3) { heardAdded.withLock { $0 } > 0 }
        }
        #expect(heardAdded.withLock { $0 } > 0, "a pass that added postings is announced")
        // Replays alone: a watcher that starts after every add has committed can hear only them.
        let first = try #require(added.first)
        let heardReplay = Mutex(0)
        let replayWatcher = Task { try await other.watchArrivals { heardReplay.withLock { $0 += 1 } } }
        defer { replayWatcher.cancel() }
        for i in 0..<100 where heardReplay.withLock({ $0 }) == 0 {
            _ = try await pass.replay(id: first, payload: nil, operator: "op", now: t0 + .seconds(Int64(i + 1)))
            _ = await eventuallyAsync(timeout: 0.3) { heardReplay.withLock { $0 } > 0 }
        }
        #expect(heardReplay.withLock { $0 } > 0, "a replay is announced")
        watcher.cancel()
        replayWatcher.cancel()
        try await watcher.value
        try await replayWatcher.value
    }
}
