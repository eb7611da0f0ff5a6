import Foundation
import MillwrightCore
import Testing
import TestSupport

/// Plant broker -> edge -> central broker -> central, all real processes; each test asserts
/// exact counts in the central store: zero lost, zero duplicated.
@Suite("Delivery edge -> central under faults", .serialized)
struct DeliveryTests {
    let plant: MosquittoBroker
    let centralBroker: MosquittoBroker

    init() throws {
        plant = try MosquittoBroker()
        centralBroker = try MosquittoBroker()
    }

    func edgeYAML(centralPort: Int, extra: String = "") -> (Int, String) -> String {
        StateSensorLoad.edgeYAML(centralPort: centralPort, extra: extra)
    }

    func load(_ n: Int, chunk: Int = 100, pause: useconds_t = 30_000) -> Thread {
        StateSensorLoad.publish(n, port: plant.port, chunk: chunk, pause: pause)
    }

    func expectExactlyOnce(_ central: CentralProcess, _ n: Int, timeout: Double = 120, sourceLocation: SourceLocation = #_sourceLocation) {
        let arrived = eventually(timeout: timeout) { central.eventCount >= n }
        #expect(arrived, "central has \(central.eventCount) of \(n)", sourceLocation: sourceLocation)
        usleep(500_000)
        #expect(central.eventCount == n, sourceLocation: sourceLocation)
        #expect(central.query("SELECT COUNT(DISTINCT event_id) FROM events") == "\(n)", sourceLocation: sourceLocation)
        #expect(central.query("SELECT COUNT(*) FROM (SELECT boot_epoch, seq FROM events GROUP BY boot_epoch, seq) AS keys") == "\(n)",
                sourceLocation: sourceLocation)
    }

    @Test func holdsWhileTheCentralIsAwayThenDeliversExactlyOnce() throws {
        let edge = try EdgeProcess(broker: plant, yaml: edgeYAML(centralPort: centralBroker.port))
        try edge.start()
        defer { edge.stop() }
        try edge.publishLines("line/m1/state", (0..<300).map { $0 % 2 == 0 ? "RUN" : "IDLE" })
        #expect(eventually { edge.status?.outbox.backlogEvents == 300 })
        #expect(edge.status?.uplink?.centralOnline == false)
        let central = try CentralProcess(brokerPort: centralBroker.port)
        try central.start()
        defer { central.stop() }
        expectExactlyOnce(central, 300)
        #expect(eventually { edge.status?.outbox.backlogEvents == 0 })
        #expect(central.query("SELECT events || ' ' || duplicates FROM edges WHERE edge = 'gw-1'") == "300 0")
        // The edge's retained status reached the central.
        #expect(eventually { central.query("SELECT CASE WHEN status IS NULL THEN 0 ELSE 1 END FROM edges WHERE edge = 'gw-1'") == "1" })
    }

    /// A backlog of 150 batches: the adaptive window (default) grows from its start of 2 past 8 while the
    /// central answers well within the target latency (a quarter of the 20 s ack timeout), and
    /// the drain still delivers every event once.
    @Test func aBacklogDrainGrowsTheWindowAndDeliversExactlyOnce() throws {
        let n = 3000
        let edge = try EdgeProcess(broker: plant, yaml: StateSensorLoad.edgeYAML(centralPort: centralBroker.port,
                                                                                uplink: "ack_timeout: 20s, batch_events: 20"))
        try edge.start()
        defer { edge.stop() }
        try edge.publishLines("line/m1/state", (0..<n).map { $0 % 2 == 0 ? "RUN" : "IDLE" })
        #expect(eventually(timeout: 60) { edge.status?.outbox.backlogEvents == n })
        #expect(edge.status?.uplink?.windowBatches == 2, "an adaptive window starts at 2")
        let central = try CentralProcess(brokerPort: centralBroker.port)
        try central.start()
        defer { central.stop() }
        expectExactlyOnce(central, n)
        #expect(eventually { edge.status?.outbox.backlogEvents == 0 })
        let uplink = edge.status?.uplink
        #expect((uplink?.windowChanges?.grown ?? 0) >= 1, "window changes: \(String(describing: uplink?.windowChanges))")
        #expect((uplink?.windowBatches ?? 0) > 8, "window now \(uplink?.windowBatches ?? 0)")
        #expect(uplink?.ackLatencyMs != nil)
        #expect(uplink?.resends == 0)
    }

    @Test func centralBrokerStoppedDuringLoadThenRestarted() throws {
        let central = try CentralProcess(brokerPort: centralBroker.port)
        try central.start()
        defer { central.stop() }
        let edge = try EdgeProcess(broker: plant, yaml: edgeYAML(centralPort: centralBroker.port))
        try edge.start()
        defer { edge.stop() }
        let n = 3000
        let loader = load(n)
        usleep(700_000)
        centralBroker.stop()
        usleep(2_000_000)
        try centralBroker.start()
        while loader.isExecuting || !loader.isFinished { usleep(50_000) }
        expectExactlyOnce(central, n)
    }

    /// `ack_timeout` counts from the moment the central broker took a batch (its PUBACK), not from
    /// the publish: a batch still on its way (a slow link, here a hung broker) is not resent while
    /// it is arriving, which on a slow link would resend the window forever.
    @Test func aBatchTheBrokerHasNotTakenIsNotResentOnTheAckTimeout() throws {
        let central = try CentralProcess(brokerPort: centralBroker.port)
        try central.start()
        defer { central.stop() }
        // A 2 s ack timeout: a batch the broker has not taken is handed over again only after ten of
        // them (20 s), well beyond the 8 s the broker is held here plus what a loaded machine adds
        // (with 1 s, a CI run under load reached the 10 s hand-over before the broker was resumed).
        let edge = try EdgeProcess(broker: plant, yaml: StateSensorLoad.edgeYAML(centralPort: centralBroker.port,
                                                                                  uplink: "ack_timeout: 2s, batch_events: 50"))
        try edge.start()
        defer { edge.stop() }
        try edge.publishLines("line/m1/state", (0..<20).map { $0 % 2 == 0 ? "RUN" : "IDLE" })
        expectExactlyOnce(central, 20)
        #expect(eventually { edge.status?.uplink?.inflightBatches == 0 })
        let before = try #require(edge.status?.uplink?.resends)
        centralBroker.signal(SIGSTOP)
        var stopped = true
        defer { if stopped { centralBroker.signal(SIGCONT) } }
        try edge.publishLines("line/m1/state", (0..<100).map { $0 % 2 == 0 ? "RUN" : "IDLE" })
        #expect(eventually { (edge.status?.uplink?.inflightBatches ?? 0) > 0 }, "the edge sent batches to the hung broker")
        // Four ack timeouts (2 s each) with the batches never taken: none is resent.
        var resent: Int?
        let until = Date().addingTimeInterval(8)
        while Date() < until, resent == nil {
            if let r = edge.status?.uplink?.resends, r != before { resent = r - before }
            usleep(200_000)
        }
        #expect(resent == nil, "resent \(resent ?? 0) batches still on their way")
        centralBroker.signal(SIGCONT)
        stopped = false
        expectExactlyOnce(central, 120)
        #expect(edge.status?.uplink?.resends == before)
    }

    @Test func centralKilledRepeatedlyDuringLoad() throws {
        let central = try CentralProcess(brokerPort: centralBroker.port)
        try central.start()
        let edge = try EdgeProcess(broker: plant, yaml: edgeYAML(centralPort: centralBroker.port))
        try edge.start()
        defer { edge.stop() }
        let n = 3000
        let loader = load(n)
        for _ in 0..<3 {
            usleep(600_000)
            central.kill()
            usleep(300_000)
            try central.start()
        }
        while !loader.isFinished { usleep(50_000) }
        defer { central.stop() }
        expectExactlyOnce(central, n)
    }

    @Test func edgeKilledRepeatedlyDuringLoadDeliversEveryCommittedEventOnce() throws {
        let central = try CentralProcess(brokerPort: centralBroker.port)
        try central.start()
        defer { central.stop() }
        // --events json prints each event after its commit: what is printed was committed.
        let edge = try EdgeProcess(broker: plant, arguments: ["--events", "json"], yaml: edgeYAML(centralPort: centralBroker.port))
        try edge.start()
        let n = 3000
        let loader = load(n)
        for _ in 0..<3 {
            usleep(700_000)
            edge.kill()
            try edge.start()
        }
        while !loader.isFinished { usleep(50_000) }
        #expect(eventually(timeout: 120) { edge.status?.outbox.backlogEvents == 0 && edge.status?.pipeline.messagesReceived ?? 0 > 0 })
        usleep(1_000_000)
        edge.stop()
        let committed = Set(edge.log.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("{"), let e = try? JSONDecoder().decode(EventEnvelope.self, from: Data(line.utf8)),
                  let epoch = e.bootEpoch, let seq = e.seq else { return nil }
            return "\(epoch)|\(seq)"
        })
        let stored = central.query("SELECT boot_epoch || '|' || seq FROM events").split(separator: "\n").map(String.init)
        #expect(committed.count > n / 2, "most of the load was committed: \(committed.count)")
        #expect(Set(stored).count == stored.count, "no duplicates at the central")
        let missing = committed.subtracting(stored)
        #expect(missing.count == 0, "\(missing.count) committed but never delivered, e.g. \(Array(missing.prefix(5)))")
        // Each incarnation that committed anything has its own epoch at the central (on a loaded machine
        // an incarnation may be killed before it committed a thing, so not always four).
        let committedEpochs = Set(committed.map { $0.split(separator: "|")[0] })
        let storedEpochs = Set(stored.map { $0.split(separator: "|")[0] })
        #expect(storedEpochs == committedEpochs && storedEpochs.count >= 2, "epochs stored \(storedEpochs), committed \(committedEpochs)")
    }

    @Test func capacityOverflowIsAccountedForByGapRecordsAndAlarmsGoLast() throws {
        let edge = try EdgeProcess(broker: plant, yaml: { port, dir in
            """
            site: plant-a
            edge: gw-1
            data_dir: \(dir)
            brokers:
              plant: { port: \(port), client_id: gw-1-plant }
            uplink: { port: \(centralBroker.port), client_id: gw-1-uplink, ack_timeout: 1s }
            outbox: { max_events: 60 }
            ingest: { status_interval: 200ms, watch_interval: 0s }
            sensors:
              - name: temp
                topic: "line/{equipment}/temp"
                decode: { format: number }
                rules:
                  limit: { high: 50 }
              - name: flow
                topic: "line/{equipment}/flow"
                decode: { format: number }
                rules:
                  deadband: { absolute: 0.5 }
            """
        })
        try edge.start()
        defer { edge.stop() }
        // 40 alarm events (20 raises, 20 clears) interleaved with 100 summaries, the central away.
        for round in 0..<20 {
            try edge.publishLines("line/m1/flow", (0..<5).map { "\(round * 5 + $0)" })
            try edge.publishLines("line/m1/temp", ["90", "10"])
        }
        #expect(eventually { edge.status?.pipeline.eventsPromoted == 140 })
        #expect(eventually { edge.status?.outbox.backlogEvents ?? 99 <= 62 })
        let drops = edge.status?.outbox.drops ?? []
        #expect(!drops.isEmpty && drops.allSatisfy { $0.priorityClass == .summary && $0.reason == "capacity" }, "\(drops)")

        let central = try CentralProcess(brokerPort: centralBroker.port)
        try central.start()
        defer { central.stop() }
        #expect(eventually { edge.status?.outbox.backlogEvents == 0 })
        usleep(300_000)
        let alarms = Int(central.query("SELECT COUNT(*) FROM events WHERE type IN ('limit_raised', 'limit_cleared')")) ?? 0
        let summaries = Int(central.query("SELECT COUNT(*) FROM events WHERE type = 'value_reported'")) ?? 0
        let gaps = central.query("SELECT body FROM events WHERE type = 'gap'").split(separator: "\n")
        let droppedByGaps = try gaps.reduce(0) { sum, body in
            let gap = try JSONDecoder().decode(EventEnvelope.self, from: Data(body.utf8))
            return sum + Int(gap.values["count"]?.number ?? -1000)
        }
        #expect(alarms == 40, "no alarm was dropped while a summary remained")
        #expect(summaries + droppedByGaps == 100, "every dropped summary is accounted for: \(summaries) + \(droppedByGaps)")
        #expect(droppedByGaps > 0)
        #expect(central.query("SELECT dropped_reported FROM edges WHERE edge = 'gw-1'") == "\(droppedByGaps)")
    }

    @Test func aBadBatchIsRefusedWholeAndKept() throws {
        let central = try CentralProcess(brokerPort: centralBroker.port)
        try central.start()
        defer { central.stop() }
        let bad = #"{"v":1,"batch":"x-1","site":"plant-a","edge":"gw-9","events":[{"schema_version":1,"seq":5}]}"#
        try Executables.run("mosquitto_pub", ["-p", "\(centralBroker.port)", "-t", "millwright/v1/plant-a/gw-9/events", "-q", "1", "-m", bad])
        try Executables.run("mosquitto_pub", ["-p", "\(centralBroker.port)", "-t", "millwright/v1/plant-a/gw-9/events", "-q", "1", "-m", "not json"])
        #expect(eventually { central.query("SELECT COUNT(*) FROM rejected_batches") == "2" })
        #expect(central.eventCount == 0)
        #expect(central.rejectedPayloads().first?.contains("gw-9") == true, "\(central.rejectedPayloads())")
    }

    /// An edge whose batches are larger than the central accepts loses nothing: the central says its
    /// limit, the edge keeps the events and sends smaller batches (before, it let them go).
    @Test func batchesTooLargeForTheCentralAreResentSmallerNotDropped() throws {
        let central = try CentralProcess(brokerPort: centralBroker.port, extra: "ingest: { max_batch_bytes: 4096 }")
        try central.start()
        defer { central.stop() }
        let edge = try EdgeProcess(broker: plant, yaml: edgeYAML(centralPort: centralBroker.port))
        try edge.start()
        defer { edge.stop() }
        try edge.publishLines("line/m1/state", (0..<300).map { $0 % 2 == 0 ? "RUN" : "IDLE" })
        expectExactlyOnce(central, 300)
        #expect(Int(central.query("SELECT COUNT(*) FROM rejected_batches WHERE kind = 'too_large'")) ?? 0 >= 1)
        #expect(eventually { edge.status?.outbox.backlogEvents == 0 })
    }
}
