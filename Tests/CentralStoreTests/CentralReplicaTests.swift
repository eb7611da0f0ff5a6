import CentralIngest
import CentralPostgres
import Foundation
import TestSupport
import Testing

/// Several `millwright-central` replicas, real processes, on one PostgreSQL and one MQTT 5 broker
/// (`$share/...`), fed by several real edges: nothing lost, nothing stored twice, through a
/// SIGKILL of a replica.
@Suite("Central replicas on PostgreSQL", .serialized)
struct CentralReplicaTests {
    let plant: MosquittoBroker
    let centralBroker: MosquittoBroker
    let postgres: PostgresServer
    let database: String

    init() throws {
        plant = try MosquittoBroker()
        centralBroker = try MosquittoBroker()
        postgres = try PostgresServer.shared()
        database = try postgres.createDatabase()
    }

    func replica(_ i: Int) throws -> CentralProcess {
        try CentralProcess(brokerPort: centralBroker.port, clientID: "central-\(i)", extra: """
            ingest: { shared_subscription: centrals }
            \(postgres.storeYAML(database: database))
            """)
    }

    /// The store the replicas share, read through the product's own seam.
    func openStore() async throws -> PostgresIngestStore {
        PostgresIngestStore(try await PostgresDatabase(settings: StoreSettings.PostgreSQL(
            host: "127.0.0.1", port: postgres.port, user: "millwright", database: database, connections: 2, tls: .disable), logger: StoreBackend.logger))
    }

    /// What `central stopped` reports a replica stored (its log, after a graceful stop).
    static func storedByReplica(_ log: String) -> Int? {
        guard let line = log.split(separator: "\n").last(where: { $0.contains("central stopped") }),
              let r = line.range(of: #"events_stored: ?\d+|events_stored=\d+"#, options: .regularExpression) else { return nil }
        return Int(line[r].filter(\.isNumber))
    }

    @Test func threeReplicasTwoEdgesOneKilledNothingLostNothingTwice() async throws {
        let replicas = try (1...3).map(replica)
        for r in replicas { try r.start() }
        defer { for r in replicas { r.stop() } }
        let edges = try ["gw-1", "gw-2"].map { name in
            try EdgeProcess(broker: plant, yaml: StateSensorLoad.edgeYAML(edge: name, centralPort: centralBroker.port))
        }
        for e in edges { try e.start() }
        defer { for e in edges { e.stop() } }

        let n = 3000, more = 1000
        let loader = StateSensorLoad.publish(n, port: plant.port)
        // Mid-run: replica 2 dies without a word, and comes back.
        #expect(await eventuallyAsync(timeout: 60) { edges.allSatisfy { ($0.status?.pipeline.messagesReceived ?? 0) > n / 3 } })
        replicas[1].kill()
        #expect(await eventuallyAsync(timeout: 60) { edges.allSatisfy { ($0.status?.pipeline.messagesReceived ?? 0) > n * 2 / 3 } })
        try replicas[1].start()
        while !loader.isFinished { try await Task.sleep(for: .milliseconds(50)) }
        // More load once it is back, so the restarted replica takes its share too.
        let second = StateSensorLoad.publish(more, port: plant.port)
        while !second.isFinished { try await Task.sleep(for: .milliseconds(50)) }
        let total = n + more

        let store = try await openStore()
        var stored = 0
        for _ in 0..<240 where stored < 2 * total {
            stored = try await store.eventCount()
            if stored < 2 * total { try await Task.sleep(for: .milliseconds(500)) }
        }
        #expect(await eventuallyAsync(timeout: 60) { edges.allSatisfy { $0.status?.outbox.backlogEvents == 0 } })
        let perEdge = try await store.edges()
        // Each edge promoted every toggle once (seq 1...n in its one epoch), and each is stored once.
        #expect(try await store.eventCount() == 2 * total)
        #expect(perEdge.map(\.edge) == ["gw-1", "gw-2"])
        #expect(perEdge.map(\.events) == [total, total], "per edge: \(perEdge.map { "\($0.edge) \($0.events) new, \($0.duplicates) resent" })")
        #expect(perEdge.map(\.lastSeq) == [Int64(total), Int64(total)])

        // Every replica took part: the shared subscription spread the batches.
        for r in replicas { r.stop() }
        let counts = replicas.map { Self.storedByReplica($0.log) }
        #expect(counts.allSatisfy { ($0 ?? 0) > 0 }, "stored by replica since its last start: \(counts)")
        await store.close()
    }
}
