import CentralSync
import Foundation
import MillwrightCore
import MQTTClient
import Reconciliation
import Testing
import TestSupport

/// Downtime, quality and escalation postings to an HTTP endpoint and the plant's namespace (MQTT),
/// MES assignments over MQTT, and a planning snapshot: real broker, real HTTP server, real Tryton.
@Suite(.serialized) struct ImmediateTierTests {
    @Test func downtimeQualityEscalationMESAndPlanningReachTheirTargets() async throws {
        let broker = try MosquittoBroker()
        try broker.start()
        defer { broker.stop() }
        let work = try TemporaryDirectory.make(prefix: "targets")
        let inbox = work.appendingPathComponent("cmms").path
        let planning = work.appendingPathComponent("planning").path
        let receiverPort = try FreePort.find()
        let receiver = try ChildProcess(Python.executable, [TrytonServer.fixture, "receiver", "--port", "\(receiverPort)", "--dir", inbox],
                                        outputFile: work.appendingPathComponent("receiver.log").path)
        defer { receiver.terminate(grace: 1) }
        try FreePort.waitUntilAccepting(port: receiverPort, timeout: 20)
        let unsLog = work.appendingPathComponent("uns.log").path
        let sub = try ChildProcess(try Executables.locate("mosquitto_sub"), ["-p", "\(broker.port)", "-t", "plant/#", "-v", "-q", "1"], outputFile: unsLog)
        defer { sub.terminate(grace: 1) }

        let h = try await SyncHarness(brokerPort: broker.port, extra: """
            mes: { topic: "mes/+/+/order" }
            targets:
              cmms: { kind: http, url: "http://127.0.0.1:\(receiverPort)/notifications/{equipment}", template: '{"asset": "{{equipment}}", "kind": "{{kind}}", "reason": "{{reason}}", "order": "{{order_number}}", "ref": "{{key}}"}' }
              uns: { kind: mqtt, topic: "plant/{site}/{equipment}/escalations" }
            routes: { maintenance_notification: cmms, quality_hold: cmms, escalation: uns }
            planning: { every: 1h, folder: "\(planning)" }
            """)
        let po = try h.tryton.createProduction(reference: "PO-IMM", quantity: 100)
        try await h.importERP()

        // The MES announces the order on the press over MQTT.
        let mes = Task { try await h.runtime.mes!.run() }
        defer { mes.cancel() }
        let start = Timestamp.minutes(-30)
        #expect(await eventuallyAsync(timeout: 60) { (try? Executables.run("mosquitto_pub", ["-p", "\(broker.port)", "-q", "1", "-t", "mes/plant-a/press-1/order", "-m",
            #"{"equipment": "press-1", "order": "PO-IMM", "action": "start", "at": "\#(start.rfc3339)"}"#])) != nil
            && h.runtime.mes!.stats.recorded == 1 })
        _ = try? Executables.run("mosquitto_pub", ["-p", "\(broker.port)", "-t", "mes/plant-a/press-1/order", "-m", "not json"])
        #expect(await eventuallyAsync(timeout: 60) { h.runtime.mes!.stats.malformed == 1 })

        let down = h.event(.downtime, signal: "machine-state", at: .minutes(-10),
                           values: ["duration_s": .number(600), "reason": .text("jam"), "started_at": .text(Timestamp.minutes(-20).rfc3339)])
        let alarm = h.event(.limitRaised, signal: "thickness", at: .minutes(-5), values: ["severity": .text("high_high"), "value": .number(2.9)])
        try await h.send([down, alarm])
        try await h.reconcile()
        try await h.deliver()
        // The edge resends after a reconnect: nothing is posted twice.
        #expect(try await h.send([down, alarm]).duplicates == 2)
        try await h.reconcile()
        try await h.deliver()

        let posted = try await h.store.postings()
        #expect(Set(posted.map(\.kind)) == [.maintenanceNotification, .qualityHold, .escalation])
        #expect(posted.allSatisfy { $0.status == .acked })
        let files = try FileManager.default.contentsOfDirectory(atPath: inbox).sorted()
        #expect(files.count == 2)
        let first = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: inbox + "/" + files[0]))) as? [String: Any]
        #expect(first?["path"] as? String == "/notifications/press-1")
        let body = first?["body"] as? [String: Any]
        #expect(body?["asset"] as? String == "press-1" && body?["order"] as? String == po.number)
        #expect((first?["key"] as? String)?.hasPrefix("maintenance_notification:") == true)
        #expect(await eventuallyAsync(timeout: 60) {
            let text = (try? String(contentsOfFile: unsLog, encoding: .utf8)) ?? ""
            return text.contains("plant/plant-a/press-1/escalations") && text.contains("high_high")
        })

        await h.runtime.planning!.publishOnce()
        let snapshot = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: planning + "/latest.json"))) as? [String: Any]
        let equipment = (snapshot?["equipment"] as? [[String: Any]])?.first
        #expect(equipment?["running_order"] as? String == po.number)
        #expect((equipment?["downtime_minutes_24h"] as? NSNumber)?.doubleValue == 10)
        #expect(try await h.store.targetHealth().contains { $0.target == "planning:folder" && $0.lastSuccess != nil })
    }
}
