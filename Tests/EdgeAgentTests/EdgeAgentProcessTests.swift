import Foundation
import MillwrightCore
import Testing
import TestSupport
@testable import EdgeAgent

/// The built binary against a real mosquitto: what an operator would run.
@Suite("millwright-edge process", .serialized)
struct EdgeAgentProcessTests {
    @Test func promotesEventsAndReportsBadInputInStatus() throws {
        let broker = try MosquittoBroker()
        defer { broker.stop() }
        let edge = try EdgeProcess(broker: broker) { plantYAML(port: $0, dataDir: $1) }
        try edge.start()
        defer { edge.stop() }
        try edge.publish("plant/press-1/temp", #"{"v": 50}"#)
        try edge.publish("plant/press-1/temp", #"{"v": 91}"#)
        try edge.publish("plant/press-1/temp", #"{"v": 70}"#)
        try edge.publish("plant/press-1/temp", #"{"v": "#)          // malformed
        try edge.publish("plant/press-1/state", "RUN")
        try edge.publish("plant/press-1/state", "FAULT")
        try edge.publish("plant/press-1/state", "RUN")
        #expect(eventually { edge.events.count == 6 }, "log:\n\(edge.log)")
        #expect(edge.events.map(\.type) == [.limitRaised, .limitCleared, .stateChanged, .stateChanged, .stateChanged, .downtime])
        #expect(edge.events.map(\.seq) == [1, 2, 3, 4, 5, 6])
        let epoch = try #require(edge.status?.bootEpoch)
        #expect(edge.events.allSatisfy { $0.bootEpoch == epoch })
        #expect(eventually { edge.status?.pipeline.quarantined.first?.reason == .malformedPayload })
        // status.json is rewritten every status_interval: wait for the one that saw all seven.
        #expect(eventually { edge.status?.pipeline.messagesReceived == 7 })
        let s = try #require(edge.status)
        #expect(s.recentQuarantine.first?.payload == #"{"v": "#)
        // The status command shows it to an operator.
        let out = try Executables.run(EdgeProcess.binary, ["status", "--config", edge.configPath]).output
        #expect(out.contains("malformed_payload"))
        #expect(out.contains("connected"))
    }

    @Test func restartMidAlarmNeitherRefiresNorLosesTheAlarm() throws {
        let broker = try MosquittoBroker()
        defer { broker.stop() }
        let edge = try EdgeProcess(broker: broker) { plantYAML(port: $0, dataDir: $1) }
        try edge.start()
        // The limit rule's events only: on a loaded machine the stale watchdog (2 s, receive clock)
        // may also fire between the steps, which is right but not what this test is about.
        var limitEvents: [EventEnvelope] { edge.events.filter { $0.type == .limitRaised || $0.type == .limitCleared } }
        try edge.publish("plant/press-1/temp", #"{"v": 95}"#)
        #expect(eventually { limitEvents.count == 1 })
        let firstEpoch = try #require(edge.status?.bootEpoch)
        edge.kill()  // SIGKILL: no shutdown hook runs.
        try edge.start()
        let secondEpoch = try #require(edge.status?.bootEpoch)
        #expect(secondEpoch > firstEpoch)
        try edge.publish("plant/press-1/temp", #"{"v": 96}"#)   // still high: must not raise again
        try edge.publish("plant/press-1/temp", #"{"v": 40}"#)   // clears the alarm raised before the crash
        // Wait for the clear: the 96 reading came before the 40, so a second raise would be printed
        // before it and show in the list below.
        #expect(eventually(timeout: 30) { limitEvents.contains { $0.type == .limitCleared } }, "log:\n\(edge.log)")
        let events = limitEvents
        #expect(events.map(\.type) == [.limitRaised, .limitCleared])
        #expect(events.last?.values["peak"] == .number(96))
        #expect(events.last?.bootEpoch == secondEpoch)
        edge.stop()
    }

    @Test func sighupAppliesAValidConfigAndKeepsTheRunningOneOnAnInvalidOne() throws {
        let broker = try MosquittoBroker()
        defer { broker.stop() }
        let edge = try EdgeProcess(broker: broker) { plantYAML(port: $0, dataDir: $1, high: 80) }
        try edge.start()
        defer { edge.stop() }
        try edge.rewrite { plantYAML(port: $0, dataDir: $1, high: 95) }
        edge.process?.signal(SIGHUP)
        #expect(eventually { edge.status?.lastReload?.accepted == true }, "log:\n\(edge.log)")
        try edge.publish("plant/m1/temp", #"{"v": 90}"#)     // above the old 80, below the new 95
        try edge.publish("plant/m1/temp", #"{"v": 96}"#)
        #expect(eventually { edge.events.count == 1 })
        #expect(edge.events.first?.values["threshold"] == .number(95))

        try "site: [broken".write(toFile: edge.configPath, atomically: true, encoding: .utf8)
        edge.process?.signal(SIGHUP)
        #expect(eventually { edge.status?.lastReload?.accepted == false })
        #expect(edge.status?.lastReload?.message.contains("edge.yaml:") == true)
        #expect(edge.log.contains("new configuration rejected"))
        #expect(edge.process?.isRunning == true)
        try edge.publish("plant/m1/temp", #"{"v": 40}"#)     // the running rules still work
        #expect(eventually { edge.events.map(\.type) == [.limitRaised, .limitCleared] })
    }

    @Test func fileChangeReloadsWithoutSIGHUP() throws {
        let broker = try MosquittoBroker()
        defer { broker.stop() }
        let watching = { (port: Int, dir: String, high: Double) in
            plantYAML(port: port, dataDir: dir, high: high).replacingOccurrences(of: "watch_interval: 0s", with: "watch_interval: 200ms")
        }
        let edge = try EdgeProcess(broker: broker) { watching($0, $1, 80) }
        try edge.start()
        defer { edge.stop() }
        try edge.rewrite { watching($0, $1, 60) }
        #expect(eventually { edge.status?.lastReload?.accepted == true }, "log:\n\(edge.log)")
        try edge.publish("plant/m1/temp", #"{"v": 70}"#)
        #expect(eventually { edge.events.first?.values["threshold"] == .number(60) })
    }

    @Test func noMessageIsDroppedWhileReloading() throws {
        let broker = try MosquittoBroker()
        defer { broker.stop() }
        let edge = try EdgeProcess(broker: broker) { plantYAML(port: $0, dataDir: $1, high: 80) }
        try edge.start()
        defer { edge.stop() }
        let n = 3000
        let reloads = Thread {
            for i in 0..<15 {
                try? edge.rewrite { plantYAML(port: $0, dataDir: $1, high: 80 + Double(i % 2)) }
                edge.process?.signal(SIGHUP)
                usleep(50_000)
            }
        }
        reloads.start()
        try edge.publishLines("plant/m1/parts", (1...n).map(String.init), qos: 1)
        #expect(eventually(timeout: 60) { edge.status?.pipeline.messagesReceived == n }, "status: \(String(describing: edge.status?.pipeline))")
        #expect(edge.status?.pipeline.messagesProcessed == n)
    }

    @Test func sigtermShutsDownCleanlyAndSavesState() throws {
        let broker = try MosquittoBroker()
        defer { broker.stop() }
        let edge = try EdgeProcess(broker: broker) { plantYAML(port: $0, dataDir: $1) }
        try edge.start()
        try edge.publish("plant/m1/parts", "500")
        #expect(eventually { edge.status?.pipeline.messagesReceived == 1 })
        edge.process?.signal(SIGTERM)
        #expect(edge.process?.wait(timeout: 10) == 0, "log:\n\(edge.log)")
        #expect(edge.log.contains("edge agent stopped"))
        // The counter baseline (saved at shutdown) makes the next reading a delta, not a new baseline.
        try edge.start()
        try edge.publish("plant/m1/parts", "520")
        #expect(eventually { edge.events.first?.values["delta"] == .number(20) }, "log:\n\(edge.log)")
        edge.stop()
    }
}

@Suite("millwright-edge commands")
struct EdgeCommandTests {
    @Test func checkConfigExitsNonZeroWithLocatedErrors() throws {
        let dir = try TemporaryDirectory.make(prefix: "check")
        let bad = dir.appendingPathComponent("bad.yaml").path
        try plantYAML().replacingOccurrences(of: "hysteresis: 2", with: "hysteresis: lots").write(toFile: bad, atomically: true, encoding: .utf8)
        let p = try ChildProcess(EdgeProcess.binary, ["check-config", bad], outputFile: dir.appendingPathComponent("out").path)
        #expect(p.wait() == 1)
        let out = try String(contentsOfFile: dir.appendingPathComponent("out").path, encoding: .utf8)
        #expect(out.contains("bad.yaml:22:40: sensors[0].rules.limit.hysteresis: expected a number"), "\(out)")
        let good = try Executables.run(EdgeProcess.binary, ["check-config", packageRoot.appendingPathComponent("edge/examples/demo.yaml").path])
        #expect(good.status == 0 && good.output.contains("OK"))
    }

    @Test func replayIsDeterministicAndPrintsWhatTheRulesPromote() throws {
        let dir = try TemporaryDirectory.make(prefix: "replay")
        let cfg = dir.appendingPathComponent("edge.yaml").path
        try plantYAML().write(toFile: cfg, atomically: true, encoding: .utf8)
        let rec = dir.appendingPathComponent("rec.jsonl").path
        let t0: Int64 = 1_764_000_000_000
        var lines: [String] = []
        for (i, v) in [50, 82, 83, 79, 77, 60].enumerated() {
            lines.append(#"{"topic": "plant/p1/temp", "ts": \#(t0 + Int64(i) * 1000), "payload": {"v": \#(v)}}"#)
        }
        lines.append(#"{"topic": "plant/p1/parts", "ts": "2025-11-24T16:00:06Z", "payload": "65535"}"#)
        lines.append(#"{"topic": "plant/p1/parts", "ts": "2025-11-24T16:00:08Z", "payload": "9"}"#)
        lines.append("not json")
        lines.append(#"{"topic": "plant/p1/temp", "ts": \#(t0 + 20_000), "payload": "{\"v\": 1"}"#)
        try lines.joined(separator: "\n").write(toFile: rec, atomically: true, encoding: .utf8)
        let first = try Executables.run(EdgeProcess.binary, ["replay", "--config", cfg, rec])
        let second = try Executables.run(EdgeProcess.binary, ["replay", "--config", cfg, rec])
        #expect(first.status == 0)
        #expect(first.output == second.output)
        let events = first.output.split(separator: "\n").map { try! JSONDecoder().decode(EventEnvelope.self, from: Data($0.utf8)) }
        // 82 raises; 79 stays raised (hysteresis 2); 77 clears. The tick before the 16:00:08 record
        // finds the temperature silent for 2 s since t0+5 s; then the 16-bit wrap 65535 -> 9 counts 10.
        #expect(events.map(\.type) == [.limitRaised, .limitCleared, .stale, .count])
        #expect(events[0].eventID == "replay-000001")
        #expect(events[0].occurredAt.milliseconds == t0 + 1000)
        #expect(events[1].occurredAt.milliseconds == t0 + 4000)
        #expect(events[1].values["peak"] == .number(83))
        #expect(events[2].occurredAt.milliseconds == t0 + 7000)
        #expect(events[3].values["delta"] == .number(10))
        #expect(events[3].values["rollovers"] == .number(1))
    }
}
