import Foundation
import Synchronization

/// The real `millwright-central` binary against a test broker, with its own data dir, and its own
/// store: the SQLite file in that dir, or with `MILLWRIGHT_TEST_STORE=postgresql` a fresh database on
/// the test PostgreSQL (`scripts/test` runs the delivery suites once on each).
public final class CentralProcess: Sendable {
    public let dir: URL
    public let configPath: String
    /// The PostgreSQL database this central uses, when the tests run on PostgreSQL.
    public let database: (server: PostgresServer, name: String)?
    private let child = Mutex<ChildProcess?>(nil)

    /// `sqlite` (default) or `postgresql`, from `MILLWRIGHT_TEST_STORE`.
    public static var backend: String { ProcessInfo.processInfo.environment["MILLWRIGHT_TEST_STORE"] ?? "sqlite" }

    public static var binary: String { packageRoot.appendingPathComponent(".build/debug/millwright-central").path }

    /// `broker` adds keys to the broker's flow mapping (", username: ..., password_file: ...").
    public init(brokerPort: Int, clientID: String = "test-central", broker: String = "", extra: String = "") throws {
        dir = try TemporaryDirectory.make(prefix: "central")
        configPath = dir.appendingPathComponent("central.yaml").path
        var store = ""
        // A test that names its own store (replicas sharing one database) keeps it.
        if Self.backend == "postgresql", !extra.split(separator: "\n").contains(where: { $0.hasPrefix("store:") }) {
            let server = try PostgresServer.shared()
            let name = try server.createDatabase()
            database = (server, name)
            store = server.storeYAML(database: name)
        } else {
            database = nil
        }
        try """
            central: test-central
            data_dir: data
            broker: { port: \(brokerPort), client_id: \(clientID), reconnect: { initial: 100ms, maximum: 1s }\(broker) }
            \(extra)
            \(store)
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

    /// A query on the central store (sqlite3 or psql, one row per line, columns joined by `|`); ""
    /// while there is no store yet. Write SQL both backends read alike (no `json_extract`, booleans
    /// through `CAST(... AS INTEGER)`, an alias on every subquery).
    public func query(_ sql: String) -> String {
        if let database {
            return (try? database.server.psql(database.name, sql)) ?? ""
        }
        guard FileManager.default.fileExists(atPath: dbPath),
              let out = try? Executables.run("sqlite3", ["-readonly", dbPath, sql]).output else { return "" }
        return out.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The refused batches' raw payloads, oldest first, as text.
    public func rejectedPayloads() -> [String] {
        let sql = database == nil ? "SELECT CAST(payload AS TEXT) FROM rejected_batches ORDER BY id"
                                  : "SELECT convert_from(payload, 'UTF8') FROM rejected_batches ORDER BY id"
        return query(sql).split(separator: "\n").map(String.init)
    }

    public var eventCount: Int { Int(query("SELECT COUNT(*) FROM events")) ?? 0 }

    deinit { process?.terminate(grace: 2) }
}
