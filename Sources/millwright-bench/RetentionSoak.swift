import ArgumentParser
import CentralIngest
import CentralPostgres
import CentralSQLite
import CentralSync
import Foundation
import Logging
import MillwrightCore

/// Months of a plant's events in compressed time, with retention on: does the store level off, and
/// does the ingest keep its rate while retention deletes?
struct RetentionSoak: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retention-soak",
        abstract: "Ingest D simulated days of a plant's events into a SQLite central store with retention running; print the store's size per day and the ingest rate with and without a retention run beside it.",
        discussion: """
            Each simulated day: E events of the edge's mix (alarms 20%, summaries 40%, counts 20%, states 20%), \
            event time and arrival on that day, committed through the real batch decoder and store in batches of \
            500. On even days a retention run (RetentionJob, the central's own) runs concurrently with the day's \
            ingest; on odd days the ingest runs alone and retention after it: the two ingest rates, measured in the \
            same run on a store of the same size, are the comparison. Retention per class is given in days \
            (compressed: the store levels off within the simulated months).
            """)

    @Option(help: "Simulated days.") var days = 120
    @Option(help: "Events per simulated day.") var eventsPerDay = 20_000
    @Option(help: "Retention in days: summaries.") var summaries = 14
    @Option(help: "Retention in days: states.") var states = 30
    @Option(help: "Retention in days: alarms, counts and gaps.") var others = 45
    @Option(help: "Events deleted per retention transaction.") var chunk = 2000
    @Option(help: "Directory for the store (default: the system temporary directory).") var dir: String?
    @Option(help: "A PostgreSQL on 127.0.0.1 at this port (user millwright, trust) instead of a SQLite file.") var postgresPort: Int?
    @Option(help: "The PostgreSQL database (empty; migrated on open).") var database = "soak"

    func run() async throws {
        let workdir = try makeTemporaryDirectory(prefix: "millwright-soak", parent: dir)
        defer { try? FileManager.default.removeItem(atPath: workdir) }
        var logger = Logger(label: "soak")
        logger.logLevel = .error
        let ingest: any IngestStore
        let retention: any RetentionStore
        let commitBatch: @Sendable ([UInt8], Timestamp) async throws -> Void
        if let port = postgresPort {
            let db = try await PostgresDatabase(settings: StoreSettings.PostgreSQL(host: "127.0.0.1", port: port, user: "millwright",
                                                                                   database: database, connections: 4, tls: .disable), logger: logger)
            let store = PostgresIngestStore(db)
            ingest = store
            retention = PostgresRetentionStore(db)
            // The central's path: the batch decoded (BatchDecoder, through a SQLite-free helper) and committed.
            commitBatch = { payload, now in _ = try await store.commit([try ValidBatch.decode(topic: "millwright/v1/soak/gw-soak/events", payload: payload)], rejected: [], now: now) }
        } else {
            let db = try CentralStore(path: (workdir as NSString).appendingPathComponent("central.sqlite"))
            ingest = SQLiteIngestStore(db)
            retention = SQLiteRetentionStore(db)
            // Decoding and committing each batch as the central's ingest does, off the cooperative pool.
            let queue = BlockingQueue(label: "soak-ingest")
            commitBatch = { payload, now in
                try await queue.run { _ = try db.ingest(topic: "millwright/v1/soak/gw-soak/events", payload: payload, now: now) }
            }
        }
        func commit(_ batches: [[UInt8]], now: Timestamp) async throws {
            for b in batches { try await commitBatch(b, now) }
        }
        var settings = RetentionSettings()
        settings.keep = [.summaries: .days(Int64(summaries)), .states: .days(Int64(states)), .alarms: .days(Int64(others)),
                         .counts: .days(Int64(others)), .gaps: .days(Int64(others))]
        settings.chunk = chunk
        let job = RetentionJob(settings: settings, store: retention, needs: nil, feedCursor: nil, logger: logger)

        let start = Timestamp.now() - .days(Int64(days))
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        var seq: Int64 = 0
        var with: [Double] = [], without: [Double] = []
        var sizes: [(day: Int, bytes: Int64, events: Int)] = []
        print("retention-soak (\(postgresPort == nil ? "SQLite" : "PostgreSQL")): \(days) days x \(eventsPerDay) events, retention summaries \(summaries)d, states \(states)d, alarms/counts/gaps \(others)d")
        print(" day   events stored   store MB   ingest ev/s   retention beside   deleted   retention s")
        for day in 0..<days {
            let dayStart = start + .days(Int64(day))
            let now = dayStart + .days(1)
            var factory = EventFactory(site: "soak", edge: "gw-soak", seed: UInt64(day + 1), start: dayStart)
            // The day's events, spread over it, as batches the decoder validates.
            let spread = max(1, 86_000_000 / Int64(eventsPerDay))
            var batches: [[UInt8]] = []
            var pending: [String] = []
            for i in 0..<eventsPerDay {
                var e = factory.next()
                seq += 1
                e.bootEpoch = 1
                e.seq = seq
                e.occurredAt = dayStart + Millis(Int64(i) * spread)
                e.edgeReceivedAt = e.occurredAt
                pending.append(String(decoding: try encoder.encode(e), as: UTF8.self))
                if pending.count == 500 || i == eventsPerDay - 1 {
                    let payload = "{\"v\":1,\"batch\":\"1-\(seq)\",\"site\":\"soak\",\"edge\":\"gw-soak\",\"sent_at\":\"x\",\"events\":[\(pending.joined(separator: ","))]}"
                    batches.append(Array(payload.utf8))
                    pending.removeAll(keepingCapacity: true)
                }
            }
            let beside = day % 2 == 0
            var run: RetentionRun?
            var retentionSeconds = 0.0
            let t0 = ContinuousClock.now
            if beside {
                async let r = job.run(now: now)
                try await commit(batches, now: now)
                let ingestSeconds = seconds(since: t0)
                run = await r
                retentionSeconds = (run!.finishedAt - run!.startedAt).seconds
                with.append(Double(eventsPerDay) / ingestSeconds)
            } else {
                try await commit(batches, now: now)
                without.append(Double(eventsPerDay) / seconds(since: t0))
                run = await job.run(now: now)
                retentionSeconds = (run!.finishedAt - run!.startedAt).seconds
            }
            if let error = run?.error { throw ValidationError("retention failed on day \(day): \(error)") }
            let stored = try await ingest.eventCount()
            let bytes = try await retention.storeBytes()
            sizes.append((day, bytes, stored))
            let deleted = run?.deleted.values.reduce(0, +) ?? 0
            if day % 10 == 9 || day == days - 1 || day < 2 {
                print(String(format: "%4d   %13d   %8.1f   %11.0f   %16@   %7d   %11.2f", day + 1, stored, Double(bytes) / 1_048_576,
                             beside ? with.last! : without.last!, beside ? "yes" : "no (after)", deleted, retentionSeconds))
            }
        }
        // Level: the store's size over the last quarter of the days against the quarter before.
        let q = max(1, days / 4)
        let lastQuarter = sizes.suffix(q).map { Double($0.bytes) }
        let before = sizes.dropLast(q).suffix(q).map { Double($0.bytes) }
        let growth = (lastQuarter.max() ?? 0) / max(1, before.max() ?? 1) - 1
        let eventsGrowth = Double(sizes.last?.events ?? 0) / Double(max(1, sizes.dropLast(q).last?.events ?? 1)) - 1
        // Rates once the store is full (past the longest retention).
        let steady = max(others, states, summaries) / 2
        let withSteady = Array(with.dropFirst(steady)), withoutSteady = Array(without.dropFirst(steady))
        let ratio = median(withSteady) / max(1, median(withoutSteady))
        print(String(format: "store size, last quarter against the one before: %+.1f%% (events stored %+.1f%%)", growth * 100, eventsGrowth * 100))
        print(String(format: "ingest with a retention run beside it: %.0f events/s; without (reference, same run): %.0f events/s; ratio %.2f (median of the days past %dd)",
                     median(withSteady), median(withoutSteady), ratio, steady * 2))
        printResult(["days": days, "events_per_day": eventsPerDay, "final_events": sizes.last?.events ?? 0, "final_bytes": sizes.last?.bytes ?? 0,
                     "size_growth_last_quarter": growth, "ingest_with_retention": median(withSteady),
                     "ingest_without_retention": median(withoutSteady), "ratio": ratio])
    }
}
