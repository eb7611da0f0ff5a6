import CentralIngest
import CentralPostgres
import CentralSQLite
import CentralSync
import Foundation
import MillwrightCore
import TestSupport
import Testing

/// Leases on the singleton jobs, on every backend: one holder at a time, renewals keep the
/// generation, a takeover after expiry bumps it, and (PostgreSQL, where replicas share the store)
/// a job's writes under a lost lease are refused.
@Suite struct LeaseContractTests {
    static func open(_ backend: StoreBackend) async throws -> (any SyncState, any SyncState) {
        switch backend {
        case .sqlite:
            let dir = try TemporaryDirectory.make(prefix: "lease")
            let state = SQLiteSyncState(try SyncStore(central: try CentralStore(path: dir.appendingPathComponent("central.sqlite").path)))
            return (state, state)
        case .postgresql:
            let server = try PostgresServer.shared()
            let name = try server.createDatabase()
            let a = try await PostgresDatabase(settings: StoreBackend.settings(server, name), logger: StoreBackend.logger)
            let b = try await PostgresDatabase(settings: StoreBackend.settings(server, name), logger: StoreBackend.logger)
            return (PostgresSyncState(a, holder: "a"), PostgresSyncState(b, holder: "b"))
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func oneHolderAtATimeAndATakeoverBumpsTheGeneration(_ backend: StoreBackend) async throws {
        let (a, b) = try await Self.open(backend)
        // An hour while held: a test task can wait a long time for a thread on a loaded 2-core
        // machine (seen: 100 s between two calls), and the lease must not lapse meanwhile ...
        let first = try #require(try await a.acquire("jobs", holder: "a", ttl: .seconds(3600)))
        let other = try await b.acquire("jobs", holder: "b", ttl: .seconds(3600))
        let table = try await a.leases()
        #expect(other == nil, "held \(first), yet b got \(String(describing: other)) at \(Timestamp.now().milliseconds); leases \(table)")
        // ... then renewed for a second only.
        let renewed = try #require(try await a.acquire("jobs", holder: "a", ttl: .seconds(1)))
        #expect(renewed.token == first.token)
        // `a` stops renewing: once its lease has expired, `b` takes over with the next generation.
        let taken = try await firstValue(every: .milliseconds(200)) { try await b.acquire("jobs", holder: "b", ttl: .seconds(3600)) }
        #expect(taken?.token == first.token + 1)
        #expect(try await a.acquire("jobs", holder: "a", ttl: .seconds(3600)) == nil)
        #expect(try await a.leases().map(\.holder) == ["b"])
        // A clean stop hands over at once.
        try await b.release("jobs", holder: "b")
        #expect(try await a.acquire("jobs", holder: "a", ttl: .seconds(3600))?.token == first.token + 2)
    }

    @Test func writesUnderALostLeaseAreRefused() async throws {
        let (a, b) = try await Self.open(.postgresql)
        let held = try #require(try await a.acquire("jobs", holder: "a", ttl: .seconds(3600)))
        let posting = NewPosting(idempotencyKey: "k1", target: "t", kind: .escalation, payload: "{}", sources: [])
        // Held: the job's writes go through.
        try await Lease.$current.withValue(held) { try await a.apply(postings: [posting], now: .now()) }
        // Renewed for a second only, then `a` is paused and does not renew.
        let old = try #require(try await a.acquire("jobs", holder: "a", ttl: .seconds(1)))
        let new = try #require(try await firstValue(every: .milliseconds(200)) { try await b.acquire("jobs", holder: "b", ttl: .seconds(3600)) })
        // `a` wakes up and carries on under its old lease: every kind of job write is refused.
        let second = NewPosting(idempotencyKey: "k2", target: "t", kind: .escalation, payload: "{}", sources: [])
        await #expect(throws: LeaseLost.self) { try await Lease.$current.withValue(old) { try await a.apply(postings: [second], now: .now()) } }
        await #expect(throws: LeaseLost.self) { try await Lease.$current.withValue(old) { try await a.upsertOrders([Self.order], now: .now()) } }
        await #expect(throws: LeaseLost.self) {
            try await Lease.$current.withValue(old) {
                try await a.recordAssignmentChange(equipment: "press-1", orderRef: "PO-1", action: .start, at: .now(), source: .erp, now: .now())
            }
        }
        await #expect(throws: LeaseLost.self) { try await Lease.$current.withValue(old) { try await a.replaceUnassigned([], now: .now()) } }
        #expect(try await b.postings().map(\.idempotencyKey) == ["k1"])
        // The new holder's writes go through.
        try await Lease.$current.withValue(new) { try await b.apply(postings: [second], now: .now()) }
        #expect(try await b.postings().map(\.idempotencyKey) == ["k1", "k2"])
    }

    static let order = ERPOrder(id: 1, number: "PO-1", reference: "", state: .running, productID: 1, productCode: "P", quantity: 10, unitID: 1,
                                companyID: 1, productionLocationID: 1, storageLocationID: 2, scrapLocationID: nil, plannedInputs: [:], works: [])
}
