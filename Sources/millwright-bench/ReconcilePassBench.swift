import ArgumentParser
import CentralIngest
import CentralSQLite
import CentralSync
import Foundation
import GRDB
import MillwrightCore
import Reconciliation

/// The reconcile pass over a realistic history, against the cheapest way to read the same events.
struct ReconcilePassBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconcile-pass",
        abstract: "Time ReconcilePass.run over E presses x D days of per-minute counts, next to a plain SQLite sum of the same events.",
        discussion: """
            Builds a central store with one count event per press per minute (through the real batch ingest), \
            an ERP order per press per 8-hour shift with MES start/stop changeovers, then times: the first pass \
            (derives every line and creates every posting), a steady pass (nothing new), and the reference: \
            one SQLite query summing the same events' deltas per press (reading every event once, no attribution).
            """)

    @Option(help: "Presses (equipment).") var equipment = 10
    @Option(help: "Days of history inside the horizon.") var days = 7
    @Option(help: "Rounds of the steady pass and the reference.") var rounds = 5

    func run() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("millwright-bench-reconcile-\(getpid())")
        defer { try? FileManager.default.removeItem(at: dir) }
        let central = try CentralStore(path: dir.appendingPathComponent("central.sqlite").path)
        var yaml = """
            central: bench
            broker: { host: 127.0.0.1, port: 1 }
            erp: { tryton: { url: "http://127.0.0.1:1", database: bench, password: x } }
            reconcile: { declarations: { every: 15m }, grace: 1m, horizon: \(days + 1)d }
            equipment:

            """
        for e in 0..<equipment { yaml += "  press-\(e): { work_center: WC-\(e), yield: parts }\n" }
        let config = try SyncConfiguration.parse(yaml: yaml)
        let sync = try SyncStore(central: central)
        let now = Timestamp.now()
        let start = Timestamp(milliseconds: now.milliseconds - now.milliseconds % 900_000 - Int64(days) * 86_400_000)

        // Orders and MES changeovers: one order per press per shift.
        var orders: [ERPOrder] = []
        var orderID: Int64 = 0
        for e in 0..<equipment {
            for shift in 0..<(days * 3) {
                orderID += 1
                orders.append(ERPOrder(id: orderID, number: "PO-\(orderID)", reference: "", state: .running, productID: 1, productCode: "P",
                                       quantity: 1000, unitID: 1, companyID: 1, productionLocationID: 9, storageLocationID: 3,
                                       scrapLocationID: nil, plannedInputs: [:], works: [ERPWork(id: orderID, operation: "Op", workCenter: "WC-\(e)", state: "running")]))
                try sync.recordAssignmentChange(equipment: "press-\(e)", orderRef: "PO-\(orderID)", action: .start,
                                                at: start + .seconds(Int64(shift) * 28_800), source: .mes, now: now)
            }
        }
        try sync.upsertOrders(orders, now: now)

        // Events: one count per press per minute, ingested in batches of 1,000 like an edge's uplink.
        let enc = JSONEncoder()
        enc.outputFormatting = .sortedKeys
        var seq: Int64 = 0
        var pending: [String] = []
        func flush() throws {
            guard !pending.isEmpty else { return }
            let batch = "{\"v\": 1, \"batch\": \"1-\(seq)\", \"site\": \"s\", \"edge\": \"gw\", \"sent_at\": \"\(now.rfc3339)\", \"events\": [\(pending.joined(separator: ","))]}"
            try central.ingest(topic: "millwright/v1/s/gw/events", payload: Array(batch.utf8), now: now)
            pending.removeAll(keepingCapacity: true)
        }
        let minutes = days * 1440
        for m in 0..<minutes {
            let from = start + .seconds(Int64(m) * 60), to = from + .seconds(60)
            for e in 0..<equipment {
                seq += 1
                let env = EventEnvelope(eventID: "e\(seq)", site: "s", edge: "gw", equipment: "press-\(e)", signal: "parts", type: .count,
                                        priority: .count, occurredAt: to, timeSource: .sensor, edgeReceivedAt: to,
                                        values: ["delta": .number(Double(seq % 5 + 1)), "from": .text(from.rfc3339), "to": .text(to.rfc3339)],
                                        rule: "parts.counter", bootEpoch: 1, seq: seq, isHistorical: true)
                pending.append(String(decoding: try enc.encode(env), as: UTF8.self))
                if pending.count == 1000 { try flush() }
            }
        }
        try flush()
        let events = Int(seq)
        print("reconcile-pass: \(equipment) presses x \(days) days = \(events) count events, \(orders.count) orders")

        let pass = ReconcilePass(config: config, store: SQLiteSyncState(sync), events: SQLiteIngestStore(central))
        var t = ContinuousClock.now
        let first = try await pass.run(now: now)
        let firstSeconds = seconds(since: t)
        var steady: [Double] = [], reference: [Double] = []
        var referenceTotal = 0.0
        for _ in 0..<rounds {
            t = ContinuousClock.now
            _ = try await pass.run(now: now)
            steady.append(seconds(since: t))
            t = ContinuousClock.now
            referenceTotal = try await central.pool.read { db in
                try Double.fetchOne(db, sql: """
                    SELECT SUM(json_extract(body, '$.values.delta')) FROM events WHERE type = 'count' AND equipment LIKE 'press-%'
                    """) ?? 0
            }
            reference.append(seconds(since: t))
        }
        let posted = try sync.postings().map(\.quantity).reduce(0, +)
        let ratio = median(steady) / median(reference)
        print(String(format: "  first pass (derive + create %d postings): %.3f s  (%.0f events/s)", first.postingsCreated, firstSeconds, Double(events) / firstSeconds))
        print(String(format: "  steady pass (nothing new), median of %d:  %.3f s  (%.0f events/s)", rounds, median(steady), Double(events) / median(steady)))
        print(String(format: "  reference: one SQLite SUM over the same events: %.3f s  (%.0f events/s)", median(reference), Double(events) / median(reference)))
        print(String(format: "  steady pass / reference = %.1f; posted %.0f of %.0f derived", ratio, posted, referenceTotal))
        printResult(["events": events, "orders": orders.count, "first_pass_s": firstSeconds, "steady_pass_s": median(steady),
                     "reference_s": median(reference), "ratio": ratio, "posted": posted, "derived": referenceTotal])
    }
}
