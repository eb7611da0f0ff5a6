import Foundation
import EdgeAgent
import MillwrightCore
import Synchronization

/// The real `millwright-edge` binary running against a test broker, with its own data dir.
public final class EdgeProcess: Sendable {
    public let dir: URL
    public let configPath: String
    public let broker: MosquittoBroker
    let extraArguments: [String]
    private let child = Mutex<ChildProcess?>(nil)
    public var process: ChildProcess? { child.withLock { $0 } }

    public static var binary: String { packageRoot.appendingPathComponent(".build/debug/millwright-edge").path }

    /// `yaml` gets the plant broker's port and the data dir.
    public init(broker: MosquittoBroker, arguments: [String] = [], yaml: (_ port: Int, _ dataDir: String) -> String) throws {
        self.broker = broker
        extraArguments = arguments
        dir = try TemporaryDirectory.make(prefix: "edge")
        configPath = dir.appendingPathComponent("edge.yaml").path
        try yaml(broker.port, dir.appendingPathComponent("data").path).write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    public var logPath: String { dir.appendingPathComponent("agent.log").path }
    public var dbPath: String { dir.appendingPathComponent("data/edge.sqlite").path }

    /// Starts the agent without waiting for its status (for a data_dir outside `dir`).
    public func startWithoutWaiting() throws {
        let p = try ChildProcess(Self.binary, ["run", "--config", configPath, "--log-level", "debug"] + extraArguments, outputFile: logPath)
        child.withLock { $0 = p }
    }

    public func start() throws {
        let subscribed = broker.subscriptions()
        let p = try ChildProcess(Self.binary, ["run", "--config", configPath, "--log-level", "debug"] + extraArguments, outputFile: logPath)
        child.withLock { $0 = p }
        // The status file of this process, not the one a previous run left behind.
        guard eventually(timeout: 30, { self.status.map { $0.pid == p.pid && $0.brokers.first?.connected == true } ?? false }) else {
            throw FixtureError("the agent did not connect; log:\n\(log)")
        }
        // Publish only once the broker granted the agent's subscriptions. (A surviving MQTT 3.1.1
        // session does not subscribe again; its subscriptions are already in place, so the wait
        // simply ends at its deadline.)
        broker.waitForSubscriptions(moreThan: subscribed, timeout: 10)
    }

    public func rewrite(_ yaml: (_ port: Int, _ dataDir: String) -> String) throws {
        try yaml(broker.port, dir.appendingPathComponent("data").path).write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    public var status: EdgeStatus? {
        guard let data = FileManager.default.contents(atPath: EdgeStatus.path(dataDir: dir.appendingPathComponent("data").path)) else { return nil }
        return try? JSONDecoder().decode(EdgeStatus.self, from: data)
    }

    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Committed events, in commit order, straight from the SQLite file (sqlite3 CLI, read-only).
    public var events: [EventEnvelope] {
        guard FileManager.default.fileExists(atPath: dbPath),
              let out = try? Executables.run("sqlite3", ["-readonly", dbPath, "SELECT body FROM events ORDER BY seq"]).output
        else { return [] }
        return out.split(separator: "\n").compactMap { try? JSONDecoder().decode(EventEnvelope.self, from: Data($0.utf8)) }
    }

    public func publish(_ topic: String, _ payload: String, qos: Int = 1) throws {
        let r = try Executables.run("mosquitto_pub", ["-p", "\(broker.port)", "-t", topic, "-q", "\(qos)", "-m", payload])
        guard r.status == 0 else { throw FixtureError("mosquitto_pub failed") }
    }

    /// One message per line, all on one connection.
    public func publishLines(_ topic: String, _ lines: [String], qos: Int = 1) throws {
        let input = Data((lines.joined(separator: "\n") + "\n").utf8)
        let r = try Executables.run("mosquitto_pub", ["-p", "\(broker.port)", "-t", topic, "-q", "\(qos)", "-l"], input: input)
        guard r.status == 0 else { throw FixtureError("mosquitto_pub -l failed") }
    }

    public func stop() { process?.terminate(grace: 10) }

    public func kill() {
        process?.signal(SIGKILL)
        process?.wait()
    }

    deinit { process?.terminate(grace: 2) }
}
