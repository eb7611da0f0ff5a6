import Foundation
import MillwrightCore
import Testing
import TestSupport

/// Both brokers as deploy/mosquitto ships them (the ACL files verbatim, a password per identity made
/// by scripts/make-credentials, no anonymous clients), with a real edge and central using them: the
/// whole flow works, and every attack of issue 22 is refused by the broker, from an anonymous
/// client, with a wrong password, from another edge's identity and from the edge's own. Asserted on
/// what the central stored and the edge kept, and on the broker's own refusals.
@Suite("The shipped broker ACLs carry the flow and refuse every forgery", .serialized)
struct BrokerLockdownTests {
    let secrets: URL
    let plant: MosquittoBroker
    let centralBroker: MosquittoBroker

    init() throws {
        secrets = try TemporaryDirectory.make(prefix: "secrets")
        let made = try Executables.run(packageRoot.appendingPathComponent("scripts/make-credentials").path, [
            secrets.path, "plant:millwright-edge", "plant:sensors", "central:plant-a/gw-1", "central:plant-a/gw-2",
            "central:millwright-central-1", "central:mes/plant-a",
        ], withStderr: true)
        guard made.status == 0 else { throw FixtureError("make-credentials failed: \(made.output)") }
        let acl = packageRoot.appendingPathComponent("deploy/mosquitto")
        // (The central broker logs at debug level: its refusals, "Denied PUBLISH", are debug lines.)
        // The listener settings of deploy/mosquitto/*.conf, with this test's files.
        plant = try MosquittoBroker(listenerOptions: """
            password_file \(secrets.path)/plant-broker.passwd
            acl_file \(acl.path)/plant-broker.acl
            """, allowAnonymous: false)
        centralBroker = try MosquittoBroker(extraConfig: "log_type debug", listenerOptions: """
            password_file \(secrets.path)/central-broker.passwd
            acl_file \(acl.path)/central-broker.acl
            """, allowAnonymous: false)
    }

    func passwordFile(_ broker: String, _ identity: String) -> String {
        secrets.appendingPathComponent("\(broker)-\(identity.replacingOccurrences(of: "/", with: "_")).pass").path
    }

    func password(_ broker: String, _ identity: String) throws -> String {
        try String(contentsOfFile: passwordFile(broker, identity), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// mosquitto_pub as `identity` (nil: anonymous; `wrongPassword`: a guess), MQTT 5 so a refused
    /// publish is reported; returns its output with stderr.
    @discardableResult
    func pub(_ broker: MosquittoBroker, as identity: String?, brokerName: String = "central", wrongPassword: Bool = false,
             _ topic: String, _ payload: String, retain: Bool = false) throws -> String {
        var args = ["-V", "mqttv5", "-p", "\(broker.port)", "-q", "1", "-t", topic, "-m", payload]
        if retain { args.append("-r") }
        if let identity {
            args += ["-u", identity, "-P", wrongPassword ? "guess" : try password(brokerName, identity)]
        }
        let r = try Executables.run("mosquitto_pub", args, withStderr: true)
        return "exit \(r.status): \(r.output)"
    }

    func deniedPublishes(_ broker: MosquittoBroker) -> Int {
        ((try? String(contentsOfFile: broker.directory.appendingPathComponent("mosquitto.log").path, encoding: .utf8)) ?? "")
            .components(separatedBy: "Denied PUBLISH").count - 1
    }

    func readings(_ n: Int) throws {
        let lines = (0..<n).map { $0 % 2 == 0 ? "RUN" : "IDLE" }.joined(separator: "\n") + "\n"
        let input = Data(lines.utf8)
        let r = try Executables.run("mosquitto_pub", ["-p", "\(plant.port)", "-u", "sensors", "-P", try password("plant", "sensors"),
                                                      "-t", "line/m1/state", "-q", "1", "-l"], input: input, withStderr: true)
        #expect(r.status == 0, "\(r.output)")
    }

    func edgeYAML() -> (Int, String) -> String {
        StateSensorLoad.edgeYAML(centralPort: centralBroker.port,
                                 uplink: "ack_timeout: 2s, batch_events: 50, username: plant-a/gw-1, password_file: \(passwordFile("central", "plant-a/gw-1"))",
                                 plant: ", username: millwright-edge, password_file: \(passwordFile("plant", "millwright-edge"))")
    }

    @Test func theFlowWorksAndEveryForgeryIsRefusedByTheBroker() throws {
        let gw1Events = UplinkTopics.events(site: "plant-a", edge: "gw-1")
        let gw1Ack = UplinkTopics.ack(site: "plant-a", edge: "gw-1")

        // An MES may announce orders for its own plant's equipment only.
        let capture = secrets.appendingPathComponent("mes.txt").path
        let before = centralBroker.subscriptions()
        let central1 = try password("central", "millwright-central-1")
        let listener = try ChildProcess(try Executables.locate("mosquitto_sub"), [
            "-V", "mqttv5", "-p", "\(centralBroker.port)", "-u", "millwright-central-1", "-P", central1, "-t", "mes/+/+/order", "-v", "-C", "1",
        ], outputFile: capture)
        defer { listener.terminate(grace: 1) }
        #expect(centralBroker.waitForSubscriptions(moreThan: before))
        #expect(try pub(centralBroker, as: "mes/plant-a", "mes/plant-b/press-1/order", #"{"order":"PO-FORGED"}"#).lowercased().contains("not authori"))
        #expect(!(try pub(centralBroker, as: "mes/plant-a", "mes/plant-a/press-1/order", #"{"order":"PO-1"}"#).lowercased().contains("not authori")))
        #expect(listener.wait(timeout: 30) == 0)
        let mes = (try? String(contentsOfFile: capture, encoding: .utf8)) ?? ""
        #expect(mes.hasPrefix("mes/plant-a/press-1/order"), "only its own plant's topic arrived first: \(mes)")

        // The edge buffers 200 events while the central is away.
        let edge = try EdgeProcess(broker: plant, yaml: edgeYAML())
        try edge.start()
        defer { edge.stop() }
        try readings(200)
        #expect(eventually { edge.status?.outbox.backlogEvents == 200 })

        let denied = deniedPublishes(centralBroker)
        let forgedAck = #"{"v":1,"batch":"forged-1","committed":[[1,1000000000]],"rejected":[]}"#
        // No identity, or a wrong password: the connection itself is refused.
        #expect(try pub(centralBroker, as: nil, gw1Ack, forgedAck).lowercased().contains("not authori"))
        #expect(try pub(centralBroker, as: "plant-a/gw-2", wrongPassword: true, gw1Ack, forgedAck).lowercased().contains("not authori"))
        // Another edge's identity: connected, every publish refused.
        let epoch = try #require(edge.status?.bootEpoch)
        let forgedBatch = #"{"v":1,"batch":"\#(epoch)-x-1","epoch":\#(epoch),"site":"plant-a","edge":"gw-1","sent_at":"2026-12-07T00:00:00Z","events":[]}"#
        let offline = #"{"state":"offline","central":"central"}"#
        for (topic, payload, retain) in [(gw1Ack, forgedAck, false), (gw1Events, forgedBatch, false),
                                         (UplinkTopics.centralPresence, offline, true),
                                         (UplinkTopics.replicaPresence("millwright-central-1"), offline, true)] {
            #expect(try pub(centralBroker, as: "plant-a/gw-2", topic, payload, retain: retain).lowercased().contains("not authori"), "\(topic)")
        }
        // The edge's own identity (a stolen gateway password) cannot write its acks or presence either.
        #expect(try pub(centralBroker, as: "plant-a/gw-1", gw1Ack, forgedAck).lowercased().contains("not authori"))
        #expect(try pub(centralBroker, as: "plant-a/gw-1", UplinkTopics.centralPresence, offline, retain: true).lowercased().contains("not authori"))
        #expect(eventually { deniedPublishes(centralBroker) - denied == 6 }, "the broker refused each publish: \(deniedPublishes(centralBroker) - denied)")
        #expect(edge.status?.uplink?.acksIgnored == nil, "no forged ack reached the edge")
        #expect(eventually { edge.status?.outbox.backlogEvents == 200 }, "nothing deleted")

        // The central, with its identity: everything once, nothing forged stored or refused.
        let central = try CentralProcess(brokerPort: centralBroker.port, clientID: "millwright-central-1",
                                         broker: ", username: millwright-central-1, password_file: \(passwordFile("central", "millwright-central-1"))")
        try central.start()
        defer { central.stop() }
        #expect(eventually(timeout: 120) { central.eventCount >= 200 }, "central has \(central.eventCount)")
        #expect(eventually { edge.status?.outbox.backlogEvents == 0 })
        // A spoofed offline presence after the central came up: refused, and the edge keeps draining.
        #expect(try pub(centralBroker, as: "plant-a/gw-2", UplinkTopics.centralPresence, offline, retain: true).lowercased().contains("not authori"))
        try readings(100)
        #expect(eventually(timeout: 120) { central.eventCount >= 300 }, "central has \(central.eventCount)")
        #expect(eventually { edge.status?.outbox.backlogEvents == 0 })
        #expect(central.query("SELECT COUNT(*) FROM (SELECT boot_epoch, seq FROM events GROUP BY boot_epoch, seq) AS keys") == "300")
        #expect(central.eventCount == 300)
        #expect(central.query("SELECT COUNT(*) FROM rejected_batches") == "0", "the forged batch never reached the central")
        #expect(edge.status?.uplink?.acksIgnored == nil)
        #expect(edge.status?.uplink?.centralOnline == true)
        // `status` reads presence with the central's identity (the ACL grants its marker topic).
        let status = try Executables.run(CentralProcess.binary, ["status", "--config", central.configPath], withStderr: true)
        #expect(status.output.contains("1 online: millwright-central-1 (up since"), "\(status.output)")

        // The plant broker: nobody anonymous, and the edge's identity reads but cannot publish readings.
        #expect(try pub(plant, as: nil, brokerName: "plant", "line/m1/state", "RUN").lowercased().contains("not authori"))
        #expect(try pub(plant, as: "millwright-edge", brokerName: "plant", "line/m1/state", "RUN").lowercased().contains("not authori"))
    }
}
