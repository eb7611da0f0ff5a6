import Foundation
import MillwrightCore
import Testing
import TestSupport

/// The central's commands as an operator or a monitor meets them: no configuration is an error that
/// says where it looked (never a central on defaults, never an empty store made on the spot), and
/// `status` exits with a documented code per condition, as text and as JSON.
@Suite(.serialized) struct CentralCommandTests {
    /// Runs the binary in `cwd` with `environment` (MILLWRIGHT_CENTRAL_CONFIG removed unless given).
    static func central(_ arguments: [String], cwd: URL, environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        var env = ["-u", "MILLWRIGHT_CENTRAL_CONFIG", "-C", cwd.path]
        env += environment.map { "\($0.key)=\($0.value)" }
        return try Executables.run("/usr/bin/env", env + [CentralProcess.binary] + arguments, withStderr: true)
    }

    @Test func withoutAConfigurationEveryCommandRefusesAndSaysWhereItLooked() throws {
        let cwd = try TemporaryDirectory.make(prefix: "no-config")
        defer { try? FileManager.default.removeItem(at: cwd) }
        try #require(!FileManager.default.fileExists(atPath: "/etc/millwright/central.yaml"), "this machine has a central configuration at the default path")
        for args in [[], ["run"], ["status"], ["status", "--json"], ["postings", "list"], ["ledger"], ["review"], ["master-data"]] {
            let r = try Self.central(args, cwd: cwd)
            #expect(r.status == 2, "\(args): \(r.output)")
            #expect(r.output.contains("no configuration: pass --config FILE; looked for /etc/millwright/central.yaml"), "\(args): \(r.output)")
        }
        let named = try Self.central(["status"], cwd: cwd, environment: ["MILLWRIGHT_CENTRAL_CONFIG": "/nonexistent/c.yaml"])
        #expect(named.status == 2 && named.output.contains("looked for /nonexistent/c.yaml (MILLWRIGHT_CENTRAL_CONFIG)"), "\(named.output)")
        let mistyped = try Self.central(["status", "--config", "centrl.yaml"], cwd: cwd)
        #expect(mistyped.status == 2 && mistyped.output.contains("no configuration file at centrl.yaml"), "\(mistyped.output)")
        // Nothing was made where the commands ran.
        #expect(try FileManager.default.contentsOfDirectory(atPath: cwd.path) == [])
    }

    @Test func aStoreThatIsNotThereIsNotCreatedByReading() throws {
        let dir = try TemporaryDirectory.make(prefix: "no-store")
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("central.yaml")
        try "central: c\ndata_dir: \(dir.path)/dta\nbroker: { host: 127.0.0.1, port: 1 }\n".write(to: config, atomically: true, encoding: .utf8)
        let status = try Self.central(["status", "--config", config.path], cwd: dir)
        #expect(status.status == StatusCondition.notRunning.rawValue, "\(status.output)")
        #expect(status.output.contains("no store at \(dir.path)/dta/central.sqlite"), "\(status.output)")
        let postings = try Self.central(["postings", "list", "--config", config.path], cwd: dir)
        #expect(postings.status == 1 && postings.output.contains("the central has not run with this configuration"), "\(postings.output)")
        #expect(!FileManager.default.fileExists(atPath: "\(dir.path)/dta"))
    }

    @Test func statusExitsWithTheCodeOfWhatItFinds() throws {
        let broker = try MosquittoBroker()
        defer { broker.stop() }
        let central = try CentralProcess(brokerPort: broker.port)
        try central.start()
        defer { central.stop() }
        func status(_ extra: [String] = []) throws -> (status: Int32, output: String) {
            try Self.central(["status", "--config", central.configPath] + extra, cwd: central.dir)
        }
        var healthy = (status: Int32(-1), output: "")
        #expect(eventually(timeout: 60) { healthy = (try? status()) ?? healthy; return healthy.status == 0 }, "\(healthy.output)")
        #expect(healthy.output.contains("health: OK") && healthy.output.contains("millwright \(MillwrightVersion.current)"), "\(healthy.output)")
        // The same through the environment's configuration path, and as JSON.
        let viaEnvironment = try Self.central(["status", "--json"], cwd: central.dir, environment: ["MILLWRIGHT_CENTRAL_CONFIG": central.configPath])
        #expect(viaEnvironment.status == 0, "\(viaEnvironment.output)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(viaEnvironment.output.utf8)) as? [String: Any], "\(viaEnvironment.output)")
        #expect(json["exit_code"] as? Int == 0 && json["version"] as? String == MillwrightVersion.current)
        #expect(((json["replicas"] as? [String: Any])?["online"] as? [Any])?.count == 1, "\(viaEnvironment.output)")

        // An edge's last will (its retained status says offline): unhealthy.
        let pub = try Executables.run("mosquitto_pub", ["-p", "\(broker.port)", "-q", "1", "-r", "-t", "millwright/v1/site-a/gw-9/status",
                                                        "-m", #"{"state":"offline","site":"site-a","edge":"gw-9"}"#], withStderr: true)
        #expect(pub.status == 0, "\(pub.output)")
        var offline = (status: Int32(-1), output: "")
        #expect(eventually(timeout: 60) { offline = (try? status()) ?? offline; return offline.status == StatusCondition.unhealthy.rawValue }, "\(offline.output)")
        #expect(offline.output.contains("UNHEALTHY: edge site-a/gw-9 is offline"), "\(offline.output)")
        let offlineJSON = try status(["--json"])
        #expect(offlineJSON.status == 5 && offlineJSON.output.contains(#""condition" : "unhealthy""#), "\(offlineJSON.output)")

        // The central stopped: not running, whatever else holds.
        central.stop()
        var stopped = (status: Int32(-1), output: "")
        #expect(eventually(timeout: 60) { stopped = (try? status()) ?? stopped; return stopped.status == StatusCondition.notRunning.rawValue }, "\(stopped.output)")
        #expect(stopped.output.contains("NOT RUNNING: no replica of this central is online"), "\(stopped.output)")
    }
}
