import CentralIngest
import CentralPostgres
import CentralSync
import Foundation
import Logging
import MillwrightCore
import Reconciliation
import Testing
import TestSupport

/// Two `millwright-central` replicas, real processes, on one PostgreSQL, posting production counts
/// to a real Tryton; the replica delivering them is SIGKILLed part-way and restarted. Counted in
/// Tryton: every quantity posted exactly once. Runs in the PostgreSQL pass of `scripts/test`
/// (replicas need the shared store).
@Suite("Central replicas post to Tryton exactly once", .serialized, .enabled(if: SyncHarness.backend == "postgresql"))
struct ReplicaPostingTests {
    /// A batch as an edge's uplink sends it: one count of 5 parts per minute from `start`.
    static func batch(start: Timestamp, minutes: Int) throws -> String {
        let events = (0..<minutes).map { m -> EventEnvelope in
            // Inside minute m, so each count falls in one bucket.
            let from = start + .seconds(Int64(m) * 60 + 10)
            return SyncHarness.countEvent(5, from: from, to: from + .seconds(40), historical: true,
                                          site: "plant-a", edge: "gw-1", epoch: 1_790_000_000, seq: Int64(m + 1))
        }
        return try SyncHarness.batchPayload(events, site: "plant-a", edge: "gw-1", epoch: 1_790_000_000, sentAt: .now())
    }

    @Test func aReplicaKilledWhileDeliveringLeavesEveryQuantityPostedOnce() async throws {
        let tryton = try TrytonServer()
        defer { tryton.stop() }
        let order = try tryton.createProduction(reference: "PO-REPLICAS", quantity: 10_000)
        // Every move Tryton creates is answered 0.25 s late (after Tryton committed it): the 40
        // deliveries take 10 s or more, so the kill lands while a replica holds claims on postings
        // not yet delivered, however fast the machine (a CI run saw all 40 delivered between two looks).
        let (proxy, proxyPort) = try tryton.proxy(faults: #"{"delay_after_upstream_s": 0.25, "match": "model.stock.move.create", "times": 1000000}"#)
        defer { proxy.terminate(grace: 1) }
        let broker = try MosquittoBroker()
        let postgres = try PostgresServer.shared()
        let database = try postgres.createDatabase()
        // Claims pass to another replica 30 s after their holder died (longer than a live holder
        // takes to deliver the round it claimed); the lease on the jobs in 3 s.
        let config = SyncHarness.config(trytonURL: "http://127.0.0.1:\(proxyPort)", brokerPort: broker.port, extra: """
            ingest: { shared_subscription: centrals }
            \(postgres.storeYAML(database: database))
              claim_ttl: 30s
              lease_ttl: 3s
            """).replacingOccurrences(of: "declarations: { every: 15m }", with: "every: 1s, declarations: { every: 1m }")
        func replica(_ i: Int) throws -> CentralProcess {
            // The harness's broker line names its own client id: each replica needs its own.
            try CentralProcess(brokerPort: broker.port, clientID: "central-\(i)", extra: config
                .split(separator: "\n").filter { !$0.hasPrefix("central:") && !$0.hasPrefix("broker:") }.joined(separator: "\n"))
        }
        let replicas = try [replica(1), replica(2)]
        for r in replicas { try r.start() }
        defer { for r in replicas { r.stop() } }
        var logger = Logger(label: "replica-postings")
        logger.logLevel = .error
        let observer = PostgresSyncState(try await PostgresDatabase(settings: StoreSettings.PostgreSQL(
            port: postgres.port, database: database, connections: 1, tls: .disable), logger: logger), holder: "observer")
        defer { observer.database.close() }

        // The order is imported by the replica holding the jobs' lease; the MES says it ran on press-1.
        let imported = try await firstValue { try await observer.orders().values.first { $0.id == order.id } }
        let erpOrder = try #require(imported, "the order was imported")
        let start = Timestamp.minutes(-60)
        try await observer.recordAssignmentChange(equipment: "press-1", orderRef: erpOrder.number, action: .start, at: start - .seconds(60),
                                                  source: .mes, now: .now())
        let minutes = 40
        let published = try Executables.run("mosquitto_pub", ["-p", "\(broker.port)", "-t", UplinkTopics.events(site: "plant-a", edge: "gw-1"),
                                                              "-q", "1", "-m", try Self.batch(start: start, minutes: minutes)], withStderr: true)
        #expect(published.status == 0, "\(published.output)")

        // One posting per minute bucket. Once some are delivered, kill the replica holding the rest.
        func acked() async throws -> Int { try await observer.postings(status: .acked).count }
        // Between two claim rounds no undelivered posting may be claimed for a moment (a CI run
        // looked exactly then): wait until one is, with deliveries under way.
        let holder = try await firstValue(timeout: 120, every: .milliseconds(20)) { () async throws -> String? in
            guard try await acked() >= 5 else { return nil }
            let h = try postgres.psql(database, "SELECT claimed_by FROM postings WHERE status IN ('pending', 'sent') AND claimed_by IS NOT NULL LIMIT 1")
            return h.isEmpty ? nil : h
        } ?? ""
        let victim = try #require(replicas.firstIndex { holder.hasSuffix("/\($0.process?.pid ?? -1)") },
                                  "deliveries started and a replica holds claims on undelivered postings (holder '\(holder)')")
        replicas[victim].kill()
        let killedAt = try await acked()
        try replicas[victim].start()

        let all = try await firstValue(timeout: 240) { () async throws -> [Posting]? in
            let p = try await observer.postings()
            return p.count == minutes && p.allSatisfy { $0.status == .acked } ? p : nil
        }
        let states = try await observer.postings().map(\.status.rawValue)
        let postings = try #require(all, "every posting acknowledged: \(states)")
        #expect(killedAt < minutes, "the kill came before the last delivery (\(killedAt) of \(minutes) delivered)")

        // Counted in Tryton: one output move per posting, none twice, the whole quantity.
        let outputs = try tryton.moves(order.id).outputs.filter { !(($0["millwright_key"] as? String) ?? "").isEmpty }
        let keys = outputs.compactMap { $0["millwright_key"] as? String }
        #expect(outputs.count == minutes, "output moves with a key: \(outputs.count)")
        #expect(Set(keys).count == keys.count, "no key twice")
        #expect(Set(keys) == Set(postings.map(\.idempotencyKey)))
        let total = outputs.map { ($0["quantity"] as? NSNumber)?.doubleValue ?? 0 }.reduce(0, +)
        #expect(total == Double(5 * minutes))
    }
}
