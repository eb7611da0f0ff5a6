import Foundation
import MillwrightCore
import Synchronization
import TestSupport
@testable import EdgeAgent

/// The real `millwright-edge` binary running against a test broker, with its own data dir.
final class EdgeProcess: Sendable {
    let dir: URL
    let configPath: String
    let broker: MosquittoBroker
    private let child = Mutex<ChildProcess?>(nil)
    var process: ChildProcess? { child.withLock { $0 } }

    static var binary: String { packageRoot.appendingPathComponent(".build/debug/millwright-edge").path }

    init(broker: MosquittoBroker, yaml: (_ port: Int, _ dataDir: String) -> String) throws {
        self.broker = broker
        dir = try TemporaryDirectory.make(prefix: "edge")
        configPath = dir.appendingPathComponent("edge.yaml").path
        try yaml(broker.port, dir.appendingPathComponent("data").path).write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    var logPath: String { dir.appendingPathComponent("agent.log").path }
    var dbPath: String { dir.appendingPathComponent("data/edge.sqlite").path }

    func start() throws {
        let p = try ChildProcess(Self.binary, ["run", "--config", configPath, "--log-level", "debug"], outputFile: logPath)
        child.withLock { $0 = p }
        guard eventually(timeout: 15, { self.status?.brokers.first?.connected == true }) else {
            throw FixtureError("the agent did not connect; log:\n\(log)")
        }
        // Let the SUBACK arrive before the test publishes.
        usleep(300_000)
    }

    func rewrite(_ yaml: (_ port: Int, _ dataDir: String) -> String) throws {
        try yaml(broker.port, dir.appendingPathComponent("data").path).write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    var status: EdgeStatus? {
        guard let data = FileManager.default.contents(atPath: EdgeStatus.path(dataDir: dir.appendingPathComponent("data").path)) else { return nil }
        return try? JSONDecoder().decode(EdgeStatus.self, from: data)
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Committed events, in commit order, straight from the SQLite file (sqlite3 CLI, read-only).
    var events: [EventEnvelope] {
        guard FileManager.default.fileExists(atPath: dbPath),
              let out = try? Executables.run("sqlite3", ["-readonly", dbPath, "SELECT body FROM events ORDER BY seq"]).output
        else { return [] }
        return out.split(separator: "\n").compactMap { try? JSONDecoder().decode(EventEnvelope.self, from: Data($0.utf8)) }
    }

    func publish(_ topic: String, _ payload: String, qos: Int = 1) throws {
        let r = try Executables.run("mosquitto_pub", ["-p", "\(broker.port)", "-t", topic, "-q", "\(qos)", "-m", payload])
        guard r.status == 0 else { throw FixtureError("mosquitto_pub failed") }
    }

    /// One message per line, all on one connection.
    func publishLines(_ topic: String, _ lines: [String], qos: Int = 1) throws {
        let input = Data((lines.joined(separator: "\n") + "\n").utf8)
        let r = try Executables.run("mosquitto_pub", ["-p", "\(broker.port)", "-t", topic, "-q", "\(qos)", "-l"], input: input)
        guard r.status == 0 else { throw FixtureError("mosquitto_pub -l failed") }
    }

    func stop() { process?.terminate(grace: 10) }

    func kill() {
        process?.signal(SIGKILL)
        process?.wait()
    }

    deinit { process?.terminate(grace: 2) }
}
