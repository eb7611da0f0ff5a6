import Foundation
import Testing
import TestSupport

/// SIGTERM ends the real central promptly even while nothing it talks to is reachable: before, the
/// ERP import, reconcile and planning loops slept their whole interval (60 s for the import) through
/// a graceful shutdown, so `systemctl stop` waited for the kill timeout.
@Suite struct CentralShutdownTests {
    @Test(.timeLimit(.minutes(3))) func sigtermEndsTheCentralWithEverySyncServiceWithinSeconds() throws {
        let dir = try TemporaryDirectory.make(prefix: "central-stop")
        defer { try? FileManager.default.removeItem(at: dir) }
        // Nothing listens on these ports: every client is in its retry back-off when the signal comes.
        let broker = try FreePort.find(), tryton = try FreePort.find(), http = try FreePort.find()
        let config = dir.appendingPathComponent("central.yaml").path
        try """
            central: stop-test
            data_dir: data
            broker: { port: \(broker), client_id: stop-test }
            erp:
              tryton: { url: "http://127.0.0.1:\(tryton)", database: millwright, password: admin, timeout: 1s }
              import_every: 10m
            equipment:
              press-1: { work_center: WC-PRESS-1, yield: parts }
            mes: { topic: "mes/+/+/order" }
            reconcile: { every: 10m }
            planning: { every: 10m, folder: planning }
            targets:
              cmms: { kind: http, url: "http://127.0.0.1:\(http)/n", template: '{"a": "{{equipment}}"}' }
              uns: { kind: mqtt, topic: "plant/{site}/{equipment}/escalations" }
            routes: { maintenance_notification: cmms, escalation: uns }
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let log = dir.appendingPathComponent("central.log").path
        let central = try ChildProcess(CentralProcess.binary, ["run", "--config", config], outputFile: log)
        defer { central.terminate(grace: 1) }
        let text = { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
        // The import's failure is logged from inside the service group, so its signal handlers are
        // installed (a signal before that ends the process by the default action, status 143).
        #expect(eventually(timeout: 60) { text().contains("ERP import failed") }, "log:\n\(text())")
        #expect(eventually(timeout: 60) { text().components(separatedBy: "MQTT connect failed").count > 3 }, "log:\n\(text())")
        central.signal(SIGTERM)
        let status = central.wait(timeout: 30)
        #expect(status == 0, "the central did not exit 0 within 30 s of SIGTERM; log:\n\(text())")
        #expect(text().contains("central stopped"))
    }
}
