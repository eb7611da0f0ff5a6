import CentralIngest
import CentralPostgres
import CentralSync
import Foundation
import MillwrightCore
import TestSupport
import Testing

/// Replicas sharing one PostgreSQL claim due postings: never the same one twice while a claim
/// holds, and a dead replica's claims pass to another once they expire.
@Suite struct PostingClaimTests {
    func postings(_ n: Int) -> [NewPosting] {
        (1...n).map { NewPosting(idempotencyKey: "maintenance_notification:gw-1:1:\($0)", target: "cmms", kind: "maintenance_notification",
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
        try await dying.markSent(taken[0].id, now: now)
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
        try await b.markFailed(taken[1].id, error: "HTTP 503", retryAt: now, now: now)
        #expect(try await a.duePostings(now: now, limit: 10).map(\.id) == [taken[1].id])
        #expect(try await b.claims() == [PostingClaims(holder: "a", active: 2, expired: 0), PostingClaims(holder: "b", active: 1, expired: 0)])
        dbA.close()
        dbB.close()
    }
}
