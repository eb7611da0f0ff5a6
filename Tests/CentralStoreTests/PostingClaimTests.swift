import CentralIngest
import CentralPostgres
import CentralSync
import Foundation
import MillwrightCore
import TestSupport
import Synchronization
import Testing

/// Replicas sharing one PostgreSQL claim due postings: never the same one twice while a claim
/// holds, and a dead replica's claims pass to another once they expire.
@Suite struct PostingClaimTests {
    func postings(_ n: Int) -> [NewPosting] {
        (1...n).map { NewPosting(idempotencyKey: "maintenance_notification:gw-1:1:\($0)", target: "cmms", kind: .maintenanceNotification,
                                 payload: #"{"n":\#($0)}"#, sources: ["gw-1:1:\($0)"]) }
    }

    @Test func concurrentReplicasClaimDisjointPostings() async throws {
        let server = try PostgresServer.shared()
        let name = try server.createDatabase()
        var replicas: [PostgresSyncState] = []
        for i in 0..<3 {
            let db = try await PostgresDatabase(settings: StoreBackend.settings(server, name), logger: StoreBackend.logger)
            replicas.append(PostgresSyncState(db, holder: "replica-\(i)"))
        }
        let now = Timestamp.now()
        #expect(try await replicas[0].apply(postings: postings(120), now: now).count == 120)
        // The same keys again (a second replica's pass): nothing added.
        #expect(try await replicas[1].apply(postings: postings(120), now: now).isEmpty)
        let claimed = try await withThrowingTaskGroup(of: [Int64].self) { group in
            for r in replicas {
                for _ in 0..<4 { group.addTask { try await r.duePostings(now: now, limit: 15).map(\.id) } }
            }
            return try await group.reduce(into: [Int64]()) { $0 += $1 }
        }
        #expect(claimed.count == 120, "every posting claimed once: \(claimed.count)")
        #expect(Set(claimed).count == claimed.count, "no posting claimed twice")
        // While claims hold, nothing is due for anyone.
        #expect(try await replicas[2].duePostings(now: now, limit: 500).isEmpty)
        for r in replicas { r.database.close() }
    }

    @Test func aDeadReplicasClaimsPassOnAfterTheyExpireAndOutcomesEndClaims() async throws {
        let server = try PostgresServer.shared()
        let name = try server.createDatabase()
        let dbA = try await PostgresDatabase(settings: StoreBackend.settings(server, name), logger: StoreBackend.logger)
        let dbB = try await PostgresDatabase(settings: StoreBackend.settings(server, name), logger: StoreBackend.logger)
        // An hour-long claim where it must hold (a test task can wait long for a thread on a loaded
        // machine), a one-second claim where it must expire.
        let a = PostgresSyncState(dbA, holder: "a", claimFor: .seconds(3600))
        let dying = PostgresSyncState(dbA, holder: "a", claimFor: .seconds(1))
        let b = PostgresSyncState(dbB, holder: "b", claimFor: .seconds(3600))
        let now = Timestamp.now()
        let all = postings(3)
        try await a.apply(postings: [all[0]], now: now)
        let held = try await a.duePostings(now: now, limit: 10)
        #expect(held.count == 1)
        // While `a`'s claim holds, `b` gets nothing.
        #expect(try await b.duePostings(now: now, limit: 10).isEmpty)
        // `a` claims two more for a second, marks one sent, and dies: once the claims expire both
        // come to `b`, the `sent` one included (delivered again after a lookup by key).
        try await a.apply(postings: Array(all[1...]), now: now)
        let taken = try await dying.duePostings(now: now, limit: 10)
        #expect(taken.count == 2)
        try await dying.record(.attempt, posting: taken[0].id, claim: taken[0].claim, now: now)
        // `status` shows who delivers what: `a` holds three claims, one of them for an hour (the
        // one-second ones may have expired already on a loaded machine).
        let claims = try await b.claims()
        #expect(claims.map(\.holder) == ["a"] && claims.map { $0.active + $0.expired } == [3] && (claims.first?.active ?? 0) >= 1)
        // Once the one-second claims expire they show as left behind.
        let leftBehind = try await firstValue(every: .milliseconds(200)) { () async throws -> [PostingClaims]? in
            let c = try await b.claims()
            return c.first?.expired == 2 ? c : nil
        }
        #expect(leftBehind == [PostingClaims(holder: "a", active: 1, expired: 2)])
        let reclaimed = try await firstValue(every: .milliseconds(200)) { () async throws -> [Posting]? in
            let due = try await b.duePostings(now: now, limit: 10)
            return due.isEmpty ? nil : due
        } ?? []
        #expect(Set(reclaimed.map(\.id)) == Set(taken.map(\.id)))
        #expect(reclaimed.first { $0.id == taken[0].id }?.status == .sent)
        // An outcome ends the claim: a failure due again is claimable at once by anyone.
        try await b.record(.retry(error: "HTTP 503", at: now), posting: taken[1].id, claim: reclaimed.first { $0.id == taken[1].id }?.claim, now: now)
        #expect(try await a.duePostings(now: now, limit: 10).map(\.id) == [taken[1].id])
        #expect(try await b.claims() == [PostingClaims(holder: "a", active: 2, expired: 0), PostingClaims(holder: "b", active: 1, expired: 0)])
        dbA.close()
        dbB.close()
    }

    /// The hole issue 24 names: a replica paused past its claim wakes up after another replica has
    /// delivered the posting; its outcome (a dead letter, a retry, an acknowledgement) must not
    /// overwrite what the other recorded. Every transition is conditional on the claim, holder
    /// and generation.
    @Test func aWriteUnderALostClaimIsRefusedAndWhatTheOtherReplicaDidStands() async throws {
        let server = try PostgresServer.shared()
        let name = try server.createDatabase()
        let dbA = try await PostgresDatabase(settings: StoreBackend.settings(server, name), logger: StoreBackend.logger)
        let dbB = try await PostgresDatabase(settings: StoreBackend.settings(server, name), logger: StoreBackend.logger)
        defer { dbA.close(); dbB.close() }
        let paused = PostgresSyncState(dbA, holder: "a", claimFor: .seconds(1))
        let b = PostgresSyncState(dbB, holder: "b", claimFor: .seconds(3600))
        let now = Timestamp.now()
        try await paused.apply(postings: postings(2), now: now)
        let mine = try await paused.duePostings(now: now, limit: 10)
        try #require(mine.count == 2 && mine.allSatisfy { $0.claim?.holder == "a" })
        for p in mine { try await paused.record(.attempt, posting: p.id, claim: p.claim, now: now) }
        // `a` pauses past its claim; `b` takes both over, delivers one and is retrying the other.
        let theirs = try #require(await firstValue(every: .milliseconds(200)) { () async throws -> [Posting]? in
            let due = try await b.duePostings(now: now, limit: 10)
            return due.count == 2 ? due : nil
        })
        #expect(theirs.allSatisfy { $0.claim?.holder == "b" && $0.claim!.generation > mine[0].claim!.generation })
        try await b.record(.acknowledge(documentRef: "notification:1", note: "created"), posting: mine[0].id,
                           claim: theirs.first { $0.id == mine[0].id }?.claim, now: now)
        // `a` wakes: its dead letter of the delivered one, and its acknowledgement of the other
        // (still claimed by `b`), are refused with the claim that holds now.
        await #expect(throws: PostingRefusal.claimLost(mine[0].id, holder: "a", now: nil)) {
            try await paused.record(.deadLetter(error: "HTTP 500"), posting: mine[0].id, claim: mine[0].claim, now: now)
        }
        let bClaim = try #require(theirs.first { $0.id == mine[1].id }?.claim)
        await #expect(throws: PostingRefusal.claimLost(mine[1].id, holder: "a", now: bClaim)) {
            try await paused.record(.acknowledge(documentRef: "notification:2", note: "created"), posting: mine[1].id, claim: mine[1].claim, now: now)
        }
        let delivered = try #require(try await b.posting(id: mine[0].id))
        #expect(delivered.status == .acked && delivered.documentRef == "notification:1")
        #expect(try await b.audit(postingID: mine[0].id).map(\.action) == [.created, .acked])
        let other = try #require(try await b.posting(id: mine[1].id))
        #expect(other.status == .sent && other.documentRef == nil && other.claim == bClaim)
        // The same holder claiming again (a later round) makes its earlier claim stale too.
        try await b.record(.retry(error: "HTTP 503", at: now), posting: mine[1].id, claim: bClaim, now: now)
        let again = try #require(try await b.duePostings(now: now, limit: 10).first)
        await #expect(throws: PostingRefusal.self) {
            try await b.record(.attempt, posting: again.id, claim: bClaim, now: now)
        }
        try await b.record(.attempt, posting: again.id, claim: again.claim, now: now)
        // An operator (no claim) may replay what a replica holds; the holder's outcome is then refused.
        _ = try await b.replay(id: again.id, payload: nil, operator: "alice", now: now)
        await #expect(throws: PostingRefusal.claimLost(again.id, holder: "b", now: nil)) {
            try await b.record(.acknowledge(documentRef: "notification:2", note: "created"), posting: again.id, claim: again.claim, now: now)
        }
    }

    /// The same through the dispatcher: a replica whose delivery outlasts its claim gets its answer
    /// (a final failure) while another replica, which took the posting over, is delivering it. Its
    /// dead letter is refused, logged and counted; the other's acknowledgement then stands.
    @Test func aDispatcherPausedPastItsClaimDoesNotDeadLetterWhatAnotherIsDelivering() async throws {
        let server = try PostgresServer.shared()
        let name = try server.createDatabase()
        let dbA = try await PostgresDatabase(settings: StoreBackend.settings(server, name), logger: StoreBackend.logger)
        let dbB = try await PostgresDatabase(settings: StoreBackend.settings(server, name), logger: StoreBackend.logger)
        defer { dbA.close(); dbB.close() }
        let a = PostgresSyncState(dbA, holder: "a", claimFor: .seconds(1))
        let b = PostgresSyncState(dbB, holder: "b", claimFor: .seconds(3600))
        let now = Timestamp.now()
        let id = try #require(try await a.apply(postings: postings(1), now: now).first)
        var policy = SyncConfiguration.Policy()
        policy.maxAttempts = 1
        // `a`'s target stalls until `b` has taken the posting over and started its own attempt.
        let taken = Mutex<PostingClaim?>(nil)
        let stalled = StallingConnector {
            let reclaimed = try await firstValue(every: .milliseconds(200)) { () async throws -> Posting? in
                try await b.duePostings(now: now, limit: 1).first
            }
            guard let reclaimed else { return }
            try await b.record(.attempt, posting: reclaimed.id, claim: reclaimed.claim, now: now)
            taken.withLock { $0 = reclaimed.claim }
        }
        let dispatcher = PostingDispatcher(store: a, connectors: ["cmms": stalled], policy: policy, logger: StoreBackend.logger)
        await dispatcher.deliverDue(now: { now })
        #expect(stalled.calls.withLock { $0 } == 1)
        #expect(dispatcher.stats.staleWrites == 1 && dispatcher.stats.failures == 1 && dispatcher.stats.deadLettered == 0 && dispatcher.stats.storeErrors == 0)
        let claimOfB = try #require(taken.withLock { $0 })
        let inDelivery = try #require(try await b.posting(id: id))
        #expect(inDelivery.status == .sent && inDelivery.claim == claimOfB, "still b's, not a dead letter")
        try await b.record(.acknowledge(documentRef: "notification:7", note: "created"), posting: id, claim: claimOfB, now: now)
        let stored = try #require(try await b.posting(id: id))
        #expect(stored.status == .acked && stored.documentRef == "notification:7" && stored.lastError == nil)
        #expect(try await b.audit(postingID: id).map(\.action) == [.created, .acked])
    }
}

/// A target that runs `meanwhile` (another replica's work) and then fails for good: the stand-in
/// for an ERP call that outlasts the caller's claim.
final class StallingConnector: PostingConnector, Sendable {
    let meanwhile: @Sendable () async throws -> Void
    let calls = Mutex(0)

    init(meanwhile: @escaping @Sendable () async throws -> Void) {
        self.meanwhile = meanwhile
    }

    func deliver(_ posting: Posting) async -> DeliveryOutcome {
        calls.withLock { $0 += 1 }
        do { try await meanwhile() } catch { return .failed("the other replica's work failed: \(error)") }
        return .failed("HTTP 400 (the stalled attempt's answer)")
    }
}
