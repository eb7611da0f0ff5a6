import Foundation
import Synchronization

/// The real `millwright-central` binary against a test broker, with its own data dir.
public final class CentralProcess: Sendable {
    public let dir: URL
    public let configPath: String
    private let child = Mutex<ChildProcess?>(nil)

    public static var binary: String { packageRoot.appendingPathComponent(".build/debug/millwright-central").path }

    public init(brokerPort: Int, clientID: String = "test-central", extra: String = "") throws {
        dir = try TemporaryDirectory.make(prefix: "central")
        configPath = dir.appendingPathComponent("central.yaml").path
        try """
            central: test-central
            data_dir: data
            broker: { port: \(brokerPort), client_id: \(clientID), reconnect: { initial: 100ms, maximum: 1s } }
            \(extra)
            """.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    public var process: ChildProcess? { child.withLock { $0 } }
    public var logPath: String { dir.appendingPathComponent("central.log").path }
    public var dbPath: String { dir.appendingPathComponent("data/central.sqlite").path }
    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    public func start() throws {
        let before = log.components(separatedBy: "MQTT connected").count
        let p = try ChildProcess(Self.binary, ["run", "--config", configPath, "--log-level", "debug"], outputFile: logPath)
        child.withLock { $0 = p }
        guard eventually(timeout: 60, { self.log.components(separatedBy: "MQTT connected").count > before }) else {
            throw FixtureError("the central did not connect; log:\n\(log)")
        }
    }

    public func kill() {
        process?.signal(SIGKILL)
        process?.wait()
    }

    public func stop() { process?.terminate(grace: 10) }

    /// A single-value SQL query on the central store (sqlite3 CLI, read-only).
    public func query(_ sql: String) -> String {
        guard FileManager.default.fileExists(atPath: dbPath),
              let out = try? Executables.run("sqlite3", ["-readonly", dbPath, sql]).output else { return "" }
        return out.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    public var eventCount: Int { Int(query("SELECT COUNT(*) FROM events")) ?? 0 }

    deinit { process?.terminate(grace: 2) }
}
