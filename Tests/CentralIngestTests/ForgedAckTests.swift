import Foundation
import MillwrightCore
import Testing
import TestSupport

/// Anyone who can publish on the central broker (no ACL: deploy/'s local-experiment broker, or a
/// misconfigured one) tries to make an edge let go of its buffer: forged acks, acks captured and
/// replayed after a restart or a recreated data folder, and the central itself turned against the
/// edge by batches published in its name. Real edge, central and brokers; asserted on what the
/// central stored and the edge kept: nothing lost, nothing duplicated, every ignored ack counted.
@Suite("An edge lets go only of what the central acknowledged of its own batches", .serialized)
struct ForgedAckTests {
    let plant: MosquittoBroker
    let centralBroker: MosquittoBroker
    let ackTopic = UplinkTopics.ack(site: "plant-a", edge: "gw-1")

    init() throws {
        plant = try MosquittoBroker()
        centralBroker = try MosquittoBroker()
    }

    func publish(_ topic: String, _ payloads: [String]) throws {
        let r = try Executables.run("mosquitto_pub", ["-p", "\(centralBroker.port)", "-t", topic, "-q", "1", "-l"],
                                    input: Data((payloads.joined(separator: "\n") + "\n").utf8), withStderr: true)
        #expect(r.status == 0, "\(r.output)")
    }

    func ignored(_ edge: EdgeProcess) -> [String: Int] { edge.status?.uplink?.acksIgnored ?? [:] }

    func states(_ n: Int) -> [String] { (0..<n).map { $0 % 2 == 0 ? "RUN" : "IDLE" } }

    /// Every stored key once, and `n` of them.
    func expectExactlyOnce(_ central: CentralProcess, _ n: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(eventually(timeout: 120) { central.eventCount >= n }, "central has \(central.eventCount) of \(n)", sourceLocation: sourceLocation)
        #expect(central.query("SELECT COUNT(*) FROM (SELECT boot_epoch, seq FROM events GROUP BY boot_epoch, seq) AS keys") == "\(n)",
                sourceLocation: sourceLocation)
        #expect(central.eventCount == n, sourceLocation: sourceLocation)
    }

    @Test func forgedAcksWhileTheCentralIsDownDeleteNothing() throws {
        let edge = try EdgeProcess(broker: plant, yaml: StateSensorLoad.edgeYAML(centralPort: centralBroker.port))
        try edge.start()
        defer { edge.stop() }
        try edge.publishLines("line/m1/state", states(200))
        #expect(eventually { edge.status?.outbox.backlogEvents == 200 })
        let epoch = try #require(edge.status?.bootEpoch)
        try publish(ackTopic, [
            #"{"v":1,"batch":"forged-1","committed":[[1,1000000000]],"rejected":[]}"#,
            #"{"v":1,"batch":"forged-2","committed":[],"rejected":[[1,1000000000]],"reason":"forged"}"#,
            #"{"v":1,"batch":"forged-3","committed":[],"rejected":[],"batch_refused":true}"#,
            // What release 2's batch ids were: the epoch (in the edge's retained status) and a counter.
            #"{"v":1,"batch":"\#(epoch)-1","epoch":\#(epoch),"committed":[[1,300]],"rejected":[]}"#,
            #"{"v":1,"batch":"\#(epoch - 1)-1","epoch":\#(epoch - 1),"committed":[[1,300]],"rejected":[]}"#,
            // Not an ack of protocol v1 (no "rejected"): unreadable, counted too.
            #"{"v":1,"batch":"forged-4","committed":[[1,1000000000]]}"#,
        ])
        #expect(eventually { ignored(edge).values.reduce(0, +) == 6 }, "\(ignored(edge))")
        #expect(ignored(edge) == ["unknown_batch": 4, "other_epoch": 1, "unreadable": 1])
        #expect(edge.status?.outbox.backlogEvents == 200, "nothing deleted")
        #expect(edge.log.contains("ack ignored"))

        let central = try CentralProcess(brokerPort: centralBroker.port)
        try central.start()
        defer { central.stop() }
        expectExactlyOnce(central, 200)
        #expect(eventually { edge.status?.outbox.backlogEvents == 0 })
    }

    @Test func acksOfAnEarlierRunDeleteNothingAfterARestartOrARecreatedDataFolder() throws {
        let central = try CentralProcess(brokerPort: centralBroker.port)
        try central.start()
        defer { central.stop() }
        let edge = try EdgeProcess(broker: plant, yaml: StateSensorLoad.edgeYAML(centralPort: centralBroker.port))
        // Someone records the edge's acks.
        let capture = edge.dir.appendingPathComponent("captured-acks.txt").path
        let before = centralBroker.subscriptions()
        let recorder = try ChildProcess(try Executables.locate("mosquitto_sub"), ["-p", "\(centralBroker.port)", "-t", ackTopic, "-q", "1"],
                                        outputFile: capture)
        defer { recorder.terminate(grace: 1) }
        #expect(centralBroker.waitForSubscriptions(moreThan: before))
        try edge.start()
        defer { edge.stop() }
        try edge.publishLines("line/m1/state", states(200))
        expectExactlyOnce(central, 200)
        #expect(eventually { edge.status?.outbox.backlogEvents == 0 })
        let captured = { ((try? String(contentsOfFile: capture, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init) }
        #expect(eventually { captured().count == (edge.status?.uplink?.batchesSent ?? -1) }, "every ack recorded")
        let acks = captured()
        #expect(acks.count >= 4)

        // The central away, the edge restarted with `buffered` new events: the recorded acks arrive,
        // delete nothing, and everything reaches the central once when it is back.
        func replayAfterRestart(recreatingDataFolder: Bool, buffered: Int, storedAfter: Int) throws {
            central.stop()
            edge.stop()
            if recreatingDataFolder {
                try FileManager.default.removeItem(atPath: (edge.dbPath as NSString).deletingLastPathComponent)
            }
            try edge.start()
            try edge.publishLines("line/m1/state", states(buffered))
            #expect(eventually { edge.status?.outbox.backlogEvents == buffered })
            try publish(ackTopic, acks)
            #expect(eventually { ignored(edge)["other_epoch"] == acks.count }, "\(ignored(edge))")
            #expect(edge.status?.outbox.backlogEvents == buffered, "nothing deleted")
            try central.start()
            expectExactlyOnce(central, storedAfter)
            #expect(eventually { edge.status?.outbox.backlogEvents == 0 })
        }
        // The same data folder after a restart.
        try replayAfterRestart(recreatingDataFolder: false, buffered: 50, storedAfter: 250)
        // A re-imaged gateway: the data folder recreated (a fresh boot epoch, sequence numbers from 1 again).
        try replayAfterRestart(recreatingDataFolder: true, buffered: 100, storedAfter: 350)
    }

    @Test func batchesPublishedInTheEdgesNameDoNotMakeTheCentralDeleteItsBuffer() throws {
        let central = try CentralProcess(brokerPort: centralBroker.port)
        try central.start()
        defer {
            central.process?.signal(SIGCONT)
            central.stop()
        }
        let capture = central.dir.appendingPathComponent("acks.txt").path
        let before = centralBroker.subscriptions()
        let recorder = try ChildProcess(try Executables.locate("mosquitto_sub"),
                                        ["-p", "\(centralBroker.port)", "-t", UplinkTopics.ack(site: "+", edge: "+"), "-q", "1", "-v"],
                                        outputFile: capture)
        defer { recorder.terminate(grace: 1) }
        #expect(centralBroker.waitForSubscriptions(moreThan: before))
        let edge = try EdgeProcess(broker: plant, yaml: StateSensorLoad.edgeYAML(centralPort: centralBroker.port))
        try edge.start()
        defer { edge.stop() }
        #expect(eventually { edge.status?.uplink?.centralOnline == true })
        // The central hangs: the edge's first batches wait for it, the rest of its backlog at the edge.
        central.process?.signal(SIGSTOP)
        try edge.publishLines("line/m1/state", states(200))
        #expect(eventually { edge.status?.outbox.backlogEvents == 200 && (edge.status?.uplink?.inflightBatches ?? 0) > 0 })
        // Valid JSON naming gw-1 with sequence numbers 1-300 but events that are not valid; and a
        // batch naming gw-2 on gw-1's topic.
        let event = #"{"schema_version":1,"site":"plant-a","edge":"gw-1","seq":SEQ}"#
        let events = (1...300).map { event.replacingOccurrences(of: "SEQ", with: "\($0)") }.joined(separator: ",")
        let malformed = #"{"v":1,"batch":"hostile-malformed","site":"plant-a","edge":"gw-1","events":["# + events + "]}"
        let otherEdge = #"{"v":1,"batch":"hostile-other-edge","site":"plant-a","edge":"gw-2","events":["# + events + "]}"
        try publish(UplinkTopics.events(site: "plant-a", edge: "gw-1"), [malformed, otherEdge])
        central.process?.signal(SIGCONT)

        // The central refuses both, and answers the one naming gw-1 on gw-1's topic: rejected 1-300.
        #expect(eventually { central.query("SELECT COUNT(*) FROM rejected_batches") == "2" })
        #expect(central.query("SELECT kind FROM rejected_batches ORDER BY id") == "invalid_field\nwrong_edge")
        // Kept with the identity it came from: the topic (with the ACL, the publisher's identity).
        #expect(central.query("SELECT DISTINCT topic FROM rejected_batches") == UplinkTopics.events(site: "plant-a", edge: "gw-1"))
        // The edge lets go of nothing for it: every event of its backlog reaches the central.
        #expect(eventually { ignored(edge)["unknown_batch"] == 1 }, "\(ignored(edge))")
        expectExactlyOnce(central, 200)
        #expect(eventually { edge.status?.outbox.backlogEvents == 0 })
        #expect(edge.status?.uplink?.eventsRejectedByCentral == 0)
        let acks = (try? String(contentsOfFile: capture, encoding: .utf8)) ?? ""
        #expect(acks.contains("hostile-malformed"))
        #expect(!acks.contains("hostile-other-edge"), "a batch naming another edge than its topic is answered to no one")
    }
}
