import ArgumentParser
import CentralIngest
import CentralPostgres
import Foundation
import Logging
import MillwrightCore

/// The two ways the PostgreSQL ingest store can write a group commit's events (`EventWrite`),
/// timed on the same events into fresh databases of one server, alternating per round.
///
/// Why in-process: the comparison is of the database write path alone; broker, decoding and
/// acknowledgements are the same for both and measured end to end by bench/central-replicas.
struct PostgresEventWrite: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pg-event-write",
        abstract: "Commit the same events into PostgreSQL with each EventWrite method and print events/s.")

    @Option(help: "PostgreSQL port on 127.0.0.1 (user millwright, trust authentication).")
    var port: Int

    @Option(help: "Database names, one per round and method, already created and empty (comma-separated).")
    var databases: String

    @Option(help: "Simulated edges.")
    var edges = 10

    @Option(help: "Events per edge.")
    var events = 20_000

    @Option(help: "Events per batch (uplink batch_events).")
    var batchEvents = 500

    @Option(help: "Batches per group commit (the central's ingest commits what arrived together).")
    var batchesPerCommit = 8

    @Option(help: "Concurrent committers (the central's ingest.writers).")
    var writers = 1

    @Option(help: "Rounds; each round runs every method once, in alternating order.")
    var rounds = 3

    func run() async throws {
        let names = databases.split(separator: ",").map(String.init)
        let methods = EventWrite.allCases
        guard names.count >= rounds * methods.count else {
            throw ValidationError("need \(rounds * methods.count) databases for \(rounds) rounds of \(methods.count) methods, got \(names.count)")
        }
        let commits = try makeCommits()
        let total = commits.reduce(0) { $0 + $1.reduce(0) { $0 + $1.events.count } }
        print("pg-event-write: \(edges) edges x \(events) events = \(total) events, \(batchEvents) per batch, \(batchesPerCommit) batches per commit, \(writers) writer(s)")
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        var results: [EventWrite: [Double]] = [:]
        var next = 0
        for round in 1...rounds {
            let order = round % 2 == 1 ? methods : methods.reversed()
            for method in order {
                let name = names[next]
                next += 1
                let db = try await PostgresDatabase(
                    settings: StoreSettings.PostgreSQL(host: "127.0.0.1", port: port, user: "millwright", database: name,
                                                       connections: max(2, writers), tls: .disable),
                    logger: logger)
                let store = PostgresIngestStore(db, eventWrite: method)
                let start = ContinuousClock.now
                let inserted = try await commitAll(commits, into: store)
                let elapsed = seconds(since: start)
                let stored = try await store.eventCount()
                db.close()
                guard inserted == total, stored == total else {
                    throw ValidationError("\(method.rawValue): \(inserted) new and \(stored) stored of \(total)")
                }
                let rate = Double(total) / elapsed
                results[method, default: []].append(rate)
                print(String(format: "round %d  %-7@ %9.0f events/s  (%.2f s)", round, method.rawValue, rate, elapsed))
            }
        }
        let medians = Dictionary(uniqueKeysWithValues: methods.map { ($0, median(results[$0] ?? [])) })
        let reference = medians[.unnest] ?? 1
        for m in methods {
            print(String(format: "median  %-7@ %9.0f events/s  ratio to unnest %.2f", m.rawValue, medians[m] ?? 0, (medians[m] ?? 0) / reference))
        }
        printResult(Dictionary(uniqueKeysWithValues: methods.map { ($0.rawValue, (medians[$0] ?? 0).rounded()) }))
    }

    /// Group commits of batches, edges interleaved as they arrive at a central.
    func makeCommits() throws -> [[ValidBatch]] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let now = Timestamp.now()
        let epoch = now.milliseconds / 1000
        var perEdge: [[ValidBatch]] = []
        for k in 1...edges {
            let id = "bench-gw-\(k)"
            var factory = EventFactory(site: "bench", edge: id, seed: UInt64(k), start: now - Millis.seconds(600))
            var batches: [ValidBatch] = []
            var pending: [StoredEvent] = []
            var seq: Int64 = 0
            for var e in factory.make(events) {
                seq += 1
                e.bootEpoch = epoch
                e.seq = seq
                let body = String(decoding: try encoder.encode(e), as: UTF8.self)
                pending.append(StoredEvent(edge: id, site: "bench", eventID: e.eventID, equipment: e.equipment, signal: e.signal,
                                           type: e.type, priority: e.priority, bootEpoch: epoch, seq: seq, occurredAt: e.occurredAt,
                                           edgeReceivedAt: e.edgeReceivedAt, isHistorical: false, body: body, droppedCount: 0))
                if pending.count == batchEvents {
                    batches.append(ValidBatch(batch: "\(epoch)-\(batches.count + 1)", site: "bench", edge: id, events: pending))
                    pending.removeAll(keepingCapacity: true)
                }
            }
            if !pending.isEmpty { batches.append(ValidBatch(batch: "\(epoch)-\(batches.count + 1)", site: "bench", edge: id, events: pending)) }
            perEdge.append(batches)
        }
        var arrival: [ValidBatch] = []
        for i in 0..<(perEdge.map(\.count).max() ?? 0) {
            for edge in perEdge where i < edge.count { arrival.append(edge[i]) }
        }
        return stride(from: 0, to: arrival.count, by: batchesPerCommit).map { Array(arrival[$0..<min($0 + batchesPerCommit, arrival.count)]) }
    }

    /// Every commit through `writers` concurrent committers; returns how many events were new.
    func commitAll(_ commits: [[ValidBatch]], into store: PostgresIngestStore) async throws -> Int {
        let lanes = max(1, writers)
        return try await withThrowingTaskGroup(of: Int.self) { group in
            for lane in 0..<lanes {
                group.addTask {
                    var inserted = 0
                    for i in stride(from: lane, to: commits.count, by: lanes) {
                        let outcomes = try await store.commit(commits[i], rejected: [], now: .now())
                        inserted += outcomes.reduce(0) { $0 + $1.inserted }
                    }
                    return inserted
                }
            }
            return try await group.reduce(0, +)
        }
    }
}
