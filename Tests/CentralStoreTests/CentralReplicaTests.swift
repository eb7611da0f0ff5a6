import CentralIngest
import CentralPostgres
import CentralSync
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
        #expect(await eventuallyAsync(timeout: 300) { loader.isFinished }, "the publisher finished")
        // More load once it is back, so the restarted replica takes its share too.
        let second = StateSensorLoad.publish(more, port: plant.port)
        #expect(await eventuallyAsync(timeout: 300) { second.isFinished }, "the publisher finished")
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

/// The lease on the singleton jobs between two real replicas on one PostgreSQL: the standby does
/// nothing, a holder stopped longer than the lease (SIGSTOP) loses it to the standby within a bound,
/// and on waking does not act on it.
@Suite("Central replicas: the sync-jobs lease", .serialized)
struct CentralLeaseTests {
    @Test func aPausedHolderLosesTheLeaseAndDoesNotActOnItWhenItWakes() async throws {
        let broker = try MosquittoBroker()
        let postgres = try PostgresServer.shared()
        let database = try postgres.createDatabase()
        let ttl = 3.0
        func replica(_ i: Int) throws -> (CentralProcess, URL) {
            let folder = try TemporaryDirectory.make(prefix: "planning-\(i)")
            let p = try CentralProcess(brokerPort: broker.port, clientID: "central-\(i)", extra: """
                \(postgres.storeYAML(database: database))
                  lease_ttl: \(Int(ttl))s
                planning: { every: 500ms, folder: \(folder.path) }
                """)
            return (p, folder)
        }
        let replicas = try [replica(1), replica(2)]
        for (p, _) in replicas { try p.start() }
        defer { for (p, _) in replicas { p.process?.signal(SIGCONT); p.stop() } }
        let observer = PostgresSyncState(try await PostgresDatabase(settings: StoreSettings.PostgreSQL(
            port: postgres.port, database: database, connections: 1, tls: .disable), logger: StoreBackend.logger), holder: "observer")
        func lease() async throws -> Lease? { try await observer.leases().first { $0.name == LeaseKeeper.syncJobs } }
        func files(_ folder: URL) -> Int {
            ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { $0.hasPrefix("snapshot-") }.count
        }
        func index(of holder: String) -> Int? { replicas.firstIndex { holder.hasSuffix("/\($0.0.process?.pid ?? -1)") } }

        let held = try #require(try await firstValue { try await lease() })
        let h = try #require(index(of: held.holder), "holder \(held.holder) is one of the replicas")
        let (holder, holderFolder) = replicas[h], (standby, standbyFolder) = replicas[1 - h]
        // The holder makes snapshots; the standby makes none.
        #expect(await eventuallyAsync(timeout: 60) { files(holderFolder) >= 2 })
        #expect(files(standbyFolder) == 0)

        // Pause the holder well past its lease. Times are read on the database's clock: this test's
        // own task may wait for a thread on a loaded machine, the replicas (processes) do not.
        func databaseNow() throws -> Int64 { Int64(try postgres.psql(database, "SELECT (extract(epoch from clock_timestamp()) * 1000)::bigint")) ?? 0 }
        let stoppedAtDB = try databaseNow()
        holder.process?.signal(SIGSTOP)
        let filesWhenStopped = files(holderFolder)
        let taken = try await firstValue { try await lease().flatMap { $0.token > held.token ? $0 : nil } }
        let next = try #require(taken, "the standby took the lease over")
        // The standby acquired it `lease_ttl` before the expiry it set.
        let takeover = Duration.milliseconds(next.expiresAt.milliseconds - Int64(ttl * 1000) - stoppedAtDB)
        #expect(index(of: next.holder) == 1 - h && next.token == held.token + 1)
        // Bound: the lease's time to live, plus one renewal period of the standby (a third of it),
        // plus the idle-transaction timeout if the holder stopped inside a transaction that holds
        // the lease row; plus slack for a loaded machine.
        #expect(takeover < .seconds(ttl + ttl / 3) + PostgresDatabase.idleTransactionTimeout + .seconds(10), "taken over after \(takeover)")
        #expect(await eventuallyAsync(timeout: 60) { files(standbyFolder) >= 2 })

        // Wake the old holder: it finds the lease gone and stands by.
        holder.process?.signal(SIGCONT)
        #expect(await eventuallyAsync(timeout: 60) { holder.log.contains("lease lost") || holder.log.contains("lease was lost") })
        let standbyBefore = files(standbyFolder)
        #expect(await eventuallyAsync(timeout: 60) { files(standbyFolder) >= standbyBefore + 3 })
        // At most a snapshot it was already writing when stopped (a file cannot be fenced by the database).
        #expect(files(holderFolder) <= filesWhenStopped + 1, "snapshots by the old holder after waking: \(files(holderFolder) - filesWhenStopped)")
        #expect(try await lease()?.token == next.token, "the old holder did not take the lease back")
        // `status` (any replica's configuration) tells the operator who holds it, and that it changed hands.
        let status = try Executables.run(CentralProcess.binary, ["status", "--config", standby.configPath], withStderr: true).output
        #expect(status.contains("lease sync-jobs: held by \(next.holder) (generation \(next.token))"), "\(status)")
        observer.database.close()
    }
}
