import CentralIngest
import CentralPostgres
import CentralSQLite
import CentralSync
import ERPConnectors
import Foundation
import Logging
import MillwrightCore
import Reconciliation
import TestSupport

/// A central with synchronisation against a real Tryton server: a real store fed through the same
/// batch validation the MQTT ingest uses, the real reconcile pass, dispatcher and connectors.
/// Time is driven by the test (event times in the recent past; `now` passed to each pass).
/// The store is the SQLite file, or PostgreSQL (started by the tests) when the environment says
/// `MILLWRIGHT_TEST_STORE=postgresql`: `scripts/test` runs these suites once on each.
final class SyncHarness: @unchecked Sendable {  // used from one test at a time
    let tryton: TrytonServer
    let dir: URL
    let events: any IngestStore
    let runtime: SyncRuntime
    /// What a configuration file needs so the real binary opens this harness's store.
    let storeSection: String
    let site = "plant-a"
    var epoch: Int64 = 1_790_000_000
    var seq: Int64 = 0
    var edge = "gw-1"

    static let defaultEquipment = "press-1: { work_center: WC-PRESS-1, yield: parts, scrap: rejects, consumption: { steel-feed: STEEL }, quality: [thickness] }"

    /// Tryton's timeout in the tests: generous (a loaded CI machine made one call take over 5 s),
    /// except where a test makes Tryton answer late on purpose.
    static let trytonTimeout = "30s"

    static func config(trytonURL: String, brokerPort: Int, equipment: String = defaultEquipment, extra: String = "",
                       trytonTimeout: String = trytonTimeout) -> String {
        """
        central: test
        broker: { host: 127.0.0.1, port: \(brokerPort), client_id: sync-test-\(brokerPort) }
        erp:
          tryton: { url: "\(trytonURL)", database: millwright, user: \(TrytonServer.integrationUser),
                    password: \(TrytonServer.integrationPassword), timeout: \(trytonTimeout), hold_location: QUA }
        equipment:
          \(equipment.replacingOccurrences(of: "\n", with: "\n  "))
        reconcile: { declarations: { every: 15m }, grace: 1m, clock_skew_tolerance: 5s }
        postings: { max_attempts: 3, backoff: { initial: 50ms, maximum: 200ms }, breaker: { failures: 50, open_for: 1s }, timeout: 5s }
        \(extra)
        """
    }

    init(tryton: TrytonServer? = nil, trytonURL: String? = nil, brokerPort: Int = 1, equipment: String = defaultEquipment,
         extra: String = "", trytonTimeout: String = trytonTimeout) async throws {
        let t = try tryton ?? TrytonServer()
        self.tryton = t
        dir = try TemporaryDirectory.make(prefix: "sync")
        let yaml = Self.config(trytonURL: trytonURL ?? t.url, brokerPort: brokerPort, equipment: equipment, extra: extra,
                               trytonTimeout: trytonTimeout)
        let cc = try CentralConfiguration.parse(yaml: yaml)
        let sc = try SyncConfiguration.parse(yaml: yaml)
        var logger = Logger(label: "test-sync")
        logger.logLevel = .warning
        let state: any SyncState
        if Self.backend == "postgresql" {
            let server = try PostgresServer.shared()
            let database = try server.createDatabase()
            storeSection = server.storeYAML(database: database)
            let db = try await PostgresDatabase(settings: StoreSettings.PostgreSQL(port: server.port, database: database,
                                                                                  connections: 4, tls: .disable), logger: logger)
            events = PostgresIngestStore(db)
            state = PostgresSyncState(db, holder: "test")
        } else {
            storeSection = "data_dir: \(dir.path)"
            let central = try CentralStore(path: dir.appendingPathComponent("central.sqlite").path)
            events = SQLiteIngestStore(central)
            state = SQLiteSyncState(try SyncStore(central: central))
        }
        runtime = try SyncRuntime(central: cc, sync: sc, state: state, events: events, logger: logger)
    }

    /// `sqlite` (default) or `postgresql`, from `MILLWRIGHT_TEST_STORE`.
    static var backend: String { ProcessInfo.processInfo.environment["MILLWRIGHT_TEST_STORE"] ?? "sqlite" }

    var store: any SyncState { runtime.store }

    // MARK: events

    /// A count event as the edge's counter rule emits it: `delta` over `[from, to]` on the edge clock.
    func count(_ delta: Double, signal: String = "parts", from: Timestamp, to: Timestamp, equipment: String = "press-1",
               skew: Millis = .zero, historical: Bool = false) -> EventEnvelope {
        seq += 1
        return Self.countEvent(delta, signal: signal, from: from + skew, to: to + skew, equipment: equipment, historical: historical,
                               site: site, edge: edge, epoch: epoch, seq: seq)
    }

    /// A count event of edge `edge`, numbered (`epoch`, `seq`), for tests without a harness store.
    static func countEvent(_ delta: Double, signal: String = "parts", from: Timestamp, to: Timestamp, equipment: String = "press-1",
                           historical: Bool = false, site: String, edge: String, epoch: Int64, seq: Int64) -> EventEnvelope {
        EventEnvelope(
            eventID: UUID().uuidString, site: site, edge: edge, equipment: equipment, signal: signal, type: .count, priority: .count,
            occurredAt: to, timeSource: .sensor, edgeReceivedAt: to,
            values: ["delta": .number(delta), "from": .text(from.rfc3339), "to": .text(to.rfc3339)],
            rule: "\(signal).counter", bootEpoch: epoch, seq: seq, isHistorical: historical)
    }

    /// Any other promoted event (downtime, limit alarm) as the edge's rules emit it.
    func event(_ type: EventType, signal: String, at: Timestamp, values: [String: Value], equipment: String = "press-1") -> EventEnvelope {
        seq += 1
        return EventEnvelope(eventID: UUID().uuidString, site: site, edge: edge, equipment: equipment, signal: signal, type: type,
                             priority: type.defaultPriority, occurredAt: at, timeSource: .sensor, edgeReceivedAt: at, values: values,
                             rule: "\(signal).rule", bootEpoch: epoch, seq: seq)
    }

    /// Sends events as one uplink batch, received by the central at `receivedAt` (by default a
    /// second after the newest event: live delivery; pass a later time with `historical` events).
    @discardableResult
    func send(_ events: [EventEnvelope], receivedAt: Timestamp? = nil) async throws -> IngestOutcome {
        let receivedAt = receivedAt ?? (events.map(\.edgeReceivedAt).max() ?? .now()) + .seconds(1)
        let batch = try Self.batchPayload(events, site: site, edge: edge, epoch: epoch, sentAt: receivedAt)
        let outcome = try await self.events.ingest(topic: UplinkTopics.events(site: site, edge: edge), payload: Array(batch.utf8), now: receivedAt)
        if let last = events.last { try await waitUntilFed(last) }
        return outcome
    }

    /// An uplink batch (protocol v1) carrying `events`, as the edge sends it.
    static func batchPayload(_ events: [EventEnvelope], site: String, edge: String, epoch: Int64, sentAt: Timestamp) throws -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = .sortedKeys
        let bodies = try events.map { String(decoding: try enc.encode($0), as: UTF8.self) }
        return "{\"v\": 1, \"batch\": \"\(epoch)-\(events.first?.seq ?? 0)\", \"site\": \"\(site)\", \"edge\": \"\(edge)\", "
            + "\"sent_at\": \"\(sentAt.rfc3339)\", \"events\": [\(bodies.joined(separator: ","))]}"
    }

    /// Waits until the reconcile pass can read `event` from the feed. On PostgreSQL the feed shows a
    /// commit only once every transaction older than it has ended, on the whole server: tests of
    /// other suites share it, so a pass run at once could find nothing new (a later pass would; the
    /// test runs one).
    func waitUntilFed(_ event: EventEnvelope) async throws {
        guard let epoch = event.bootEpoch, let seq = event.seq,
              let stored = try await events.event(edge: event.edge, bootEpoch: epoch, seq: seq) else { return }
        let before = FeedPosition(transaction: stored.position.transaction, row: stored.position.row - 1)
        let fed = try await firstValue(timeout: 60, every: .milliseconds(20)) { () async throws -> Bool? in
            try await self.events.events(after: before, .all, limit: 1).first?.position == stored.position ? true : nil
        }
        guard fed == true else { throw FixtureError("event \(event.edge):\(epoch):\(seq) not readable from the feed after 60 s") }
    }

    // MARK: ERP and MES

    func mes(_ order: String, _ action: AssignmentChange.Action, at: Timestamp, equipment: String = "press-1") async throws {
        try await store.recordAssignmentChange(equipment: equipment, orderRef: order, action: action, at: at, source: .mes, now: .now())
    }

    func importERP() async throws {
        try await runtime.importer!.importOnce()
    }

    @discardableResult
    func reconcile(now: Timestamp = .now()) async throws -> ReconcilePass.Outcome {
        try await runtime.pass.run(now: now)
    }

    /// Delivers until nothing is pending or in flight (dead letters stay), or the timeout passes.
    /// Generous, like Tryton's timeout above: on a loaded CI machine one Tryton call has taken over
    /// 5 s, and a round delivering several postings then outlasted a 30 s deadline.
    func deliver(timeout: Double = 180) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            await runtime.dispatcher.deliverDue()
            let open = try await store.postings().filter { $0.status == .pending || $0.status == .sent }
            if open.isEmpty { return }
            try await Task.sleep(for: .milliseconds(60))
        }
        throw FixtureError("postings still open after \(timeout)s: \(try await store.postings().filter { $0.status != .acked })")
    }

    func ledger(_ order: Int64) async throws -> [LedgerEntry] { try await runtime.pass.ledger().filter { $0.orderID == order } }

    /// The quantities Millwright posted to a production in Tryton (moves carrying a millwright_key).
    func trytonTotals(_ production: Int64) throws -> (yield: Double, keyedInputs: Double, allInputs: Double, keys: [String]) {
        let m = try tryton.moves(production)
        func q(_ r: [String: Any]) -> Double { (r["quantity"] as? NSNumber)?.doubleValue ?? 0 }
        func keyed(_ r: [String: Any]) -> Bool { (r["millwright_key"] as? String).map { !$0.isEmpty } ?? false }
        let outs = m.outputs.filter(keyed)
        let ins = m.inputs.filter(keyed)
        return (outs.map(q).reduce(0, +), ins.map(q).reduce(0, +), m.inputs.filter { ($0["state"] as? String) != "cancelled" }.map(q).reduce(0, +),
                (outs + ins).compactMap { $0["millwright_key"] as? String })
    }
}

extension Timestamp {
    /// A whole minute `minutes` from now (negative: in the past), so buckets line up in tests.
    static func minutes(_ minutes: Int64) -> Timestamp {
        let now = Timestamp.now().milliseconds
        return Timestamp(milliseconds: now - now % 60_000 + minutes * 60_000)
    }
}

enum CentralStoreFixture {
    static func make() throws -> CentralStore {
        try CentralStore(path: try TemporaryDirectory.make(prefix: "store").appendingPathComponent("central.sqlite").path)
    }
}
