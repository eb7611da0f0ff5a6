import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A real PostgreSQL for tests: `initdb` into a temporary directory and `postgres` on a free
/// loopback port, started by the tests themselves (no system service).
///
/// Why one per test process, shared: `initdb` takes seconds; each test takes a database of its
/// own (`createDatabase()`), which isolates tests as well as a server each would. As root, the
/// server runs as the `postgres` user (PostgreSQL refuses root) through `setpriv`, which execs, so
/// the pid the test holds is the postmaster's and the run's exit handler can stop it.
/// Durability settings are relaxed (`fsync=off`): these tests kill central replicas, never the
/// database server.
public final class PostgresServer: Sendable {
    public let port: Int
    public let directory: URL
    let process: ChildProcess
    static let user = "millwright"

    static let sharedServer = Mutex<PostgresServer?>(nil)

    /// The test process's server, started on first use.
    public static func shared() throws -> PostgresServer {
        try sharedServer.withLock { server in
            if let server, server.process.isRunning { return server }
            let s = try PostgresServer()
            server = s
            return s
        }
    }

    /// A server of its own (another cluster beside the shared one), for a test that needs two;
    /// `stop()` it at the end.
    public static func separate() throws -> PostgresServer { try PostgresServer() }

    /// A server of its own that also accepts TLS with this certificate and key (PEM files, copied).
    public static func separate(tlsCertificate: String, key: String) throws -> PostgresServer {
        try PostgresServer(tls: (tlsCertificate, key))
    }

    init(tls: (certificate: String, key: String)? = nil) throws {
        let bin = try Self.binDirectory()
        directory = try TemporaryDirectory.make(prefix: "postgres")
        let data = directory.appendingPathComponent("data")
        let asRoot = geteuid() == 0
        if asRoot { try Self.chown(directory.path) }
        let log = directory.appendingPathComponent("postgres.log").path
        let initdb = try ChildProcess(Self.setpriv(asRoot), Self.command(asRoot, "\(bin)/initdb",
            ["-D", data.path, "-U", Self.user, "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"]), outputFile: log)
        guard initdb.wait(timeout: 120) == 0 else {
            initdb.terminate()
            throw FixtureError("initdb failed: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        }
        var ssl: [String] = []
        if let tls {
            // PostgreSQL refuses a key others can read, or one its user does not own.
            let cert = directory.appendingPathComponent("server.crt").path, key = directory.appendingPathComponent("server.key").path
            try FileManager.default.copyItem(atPath: tls.certificate, toPath: cert)
            try FileManager.default.copyItem(atPath: tls.key, toPath: key)
            chmod(key, 0o600)
            if asRoot { try Self.chown(cert); try Self.chown(key) }
            ssl = ["-c", "ssl=on", "-c", "ssl_cert_file=\(cert)", "-c", "ssl_key_file=\(key)"]
        }
        port = try FreePort.find()
        process = try ChildProcess(Self.setpriv(asRoot), Self.command(asRoot, "\(bin)/postgres", ssl + [
            "-D", data.path, "-p", "\(port)", "-k", directory.path,
            "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "full_page_writes=off",
            "-c", "max_connections=300", "-c", "shared_buffers=64MB",
            // `events` is partitioned by class and month (about 140 partitions with their indexes):
            // a migration, or a query no partition bound prunes, locks them all, and many test
            // databases do so at once. PostgreSQL's default of 64 ran its lock table out (central/README.md).
            "-c", "max_locks_per_transaction=512",
        ]), outputFile: log)
        let deadline = Date().addingTimeInterval(60)
        while true {
            if (try? Executables.run("\(bin)/pg_isready", ["-q", "-h", "127.0.0.1", "-p", "\(port)"]).status) == 0 { break }
            guard process.isRunning, Date() < deadline else {
                process.terminate()
                throw FixtureError("PostgreSQL did not start: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
            }
            usleep(100_000)
        }
    }

    /// A fresh, empty database; its name.
    public func createDatabase() throws -> String {
        let name = "t_" + UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: "")
        _ = try psql("postgres", "CREATE DATABASE \(name)")
        return name
    }

    /// Runs SQL with the psql client (for set-up only; tests read through the product's stores).
    @discardableResult
    public func psql(_ database: String, _ sql: String) throws -> String {
        let r = try Executables.run("psql", ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", "\(port)",
                                             "-U", Self.user, "-d", database, "-c", sql])
        guard r.status == 0 else { throw FixtureError("psql failed (\(r.status)) on: \(sql)") }
        return r.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The YAML `store` section a central uses for `database`.
    public func storeYAML(database: String, connections: Int = 4) -> String {
        """
        store:
          backend: postgresql
          host: 127.0.0.1
          port: \(port)
          user: \(Self.user)
          database: \(database)
          connections: \(connections)
          tls: disable
        """
    }

    /// SIGINT (fast shutdown) and wait.
    public func stop() {
        process.signal(SIGINT)
        if process.wait(timeout: 30) == nil { process.terminate() }
    }

    static func binDirectory() throws -> String {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init).sorted()
        guard let v = versions.last, FileManager.default.isExecutableFile(atPath: "\(root)/\(v)/bin/initdb") else {
            throw FixtureError("PostgreSQL is not installed (no \(root)/<version>/bin/initdb): run ./scripts/test, which installs it")
        }
        return "\(root)/\(v)/bin"
    }

    static func setpriv(_ asRoot: Bool) throws -> String { asRoot ? try Executables.locate("setpriv") : "/usr/bin/env" }

    static func command(_ asRoot: Bool, _ program: String, _ arguments: [String]) -> [String] {
        asRoot ? ["--reuid=postgres", "--regid=postgres", "--init-groups", program] + arguments : [program] + arguments
    }

    static func chown(_ path: String) throws {
        guard let pw = getpwnam("postgres") else { throw FixtureError("running as root, but there is no postgres user to run PostgreSQL as") }
        guard Glibc.chown(path, pw.pointee.pw_uid, pw.pointee.pw_gid) == 0 else { throw FixtureError("cannot chown \(path) to postgres") }
    }
}
