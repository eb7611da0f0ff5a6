import Foundation
import Synchronization

/// A real Tryton server (pip-installed trytond with the production modules and the `millwright`
/// module from deploy/tryton) on a free loopback port, with its own SQLite database copied from a
/// template that the test run initialises once. Driven by Tests/Fixtures/tryton/tryton_fixture.py.
public final class TrytonServer: Sendable {
    public let dir: URL
    public let port: Int
    /// The ids the fixture seeded (company, products, work centers, locations), as JSON.
    public let seeded: String
    private let child: Mutex<ChildProcess?>

    public static let fixture = packageRoot.appendingPathComponent("Tests/Fixtures/tryton/tryton_fixture.py").path
    public static let database = "millwright"
    public static let password = "admin"
    /// The least-privilege user the central logs in as in every test (deploy/tryton/README.md):
    /// Tryton's groups Production and Stock, nothing administrative.
    public static let integrationUser = "millwright"
    public static let integrationPassword = "millwright-integration"
    static let templateLock = Mutex<String?>(nil)

    /// Initialises the shared template once per test run (about 10 s), then copies it (fast).
    static func template() throws -> String {
        try templateLock.withLock { path in
            if let path { return path }
            let tmp = FileManager.default.temporaryDirectory
            // Templates of finished test runs are left behind by a kill; remove those whose process is gone.
            for name in (try? FileManager.default.contentsOfDirectory(atPath: tmp.path)) ?? [] where name.hasPrefix("millwright-tryton-template-") {
                if let pid = Int32(name.dropFirst("millwright-tryton-template-".count)), pid != getpid(), kill(pid, 0) != 0 {
                    try? FileManager.default.removeItem(at: tmp.appendingPathComponent(name))
                }
            }
            let dir = tmp.appendingPathComponent("millwright-tryton-template-\(getpid())").path
            let r = try Executables.run(Python.executable, [fixture, "init", dir])
            guard r.status == 0 else { throw FixtureError("cannot initialise the Tryton template (\(r.status)): \(r.output)") }
            path = dir
            return dir
        }
    }

    public init() throws {
        dir = try TemporaryDirectory.make(prefix: "tryton")
        let r = try Executables.run(Python.executable, [Self.fixture, "init", dir.path, "--from", try Self.template()])
        guard r.status == 0 else { throw FixtureError("cannot copy the Tryton template: \(r.output)") }
        seeded = r.output
        port = try FreePort.find()
        let log = dir.appendingPathComponent("trytond.log").path
        let p = try ChildProcess(Python.executable, [Self.fixture, "serve", dir.path, "--port", "\(port)"], outputFile: log)
        child = Mutex(p)
        do { try FreePort.waitUntilAccepting(port: port, timeout: 60) } catch {
            p.terminate(grace: 1)
            throw FixtureError("Tryton did not start on port \(port): \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        }
    }

    public var url: String { "http://127.0.0.1:\(port)" }

    /// Runs a fixture subcommand against this server's database and returns its JSON answer.
    @discardableResult
    public func fixture(_ arguments: [String]) throws -> [String: Any] {
        let r = try Executables.run(Python.executable, [Self.fixture] + arguments)
        guard r.status == 0, let o = try? JSONSerialization.jsonObject(with: Data(r.output.utf8)) as? [String: Any] else {
            throw FixtureError("tryton_fixture \(arguments.joined(separator: " ")) failed (\(r.status)): \(r.output)")
        }
        return o
    }

    /// Creates a production of `quantity` WIDGET on `workCenter` and moves it to `state`; returns (id, number).
    public func createProduction(reference: String, quantity: Double = 100, workCenter: String = "WC-PRESS-1",
                                 state: String = "running") throws -> (id: Int64, number: String) {
        let o = try fixture(["production", dir.path, "create", "--number-ref", reference, "--quantity", "\(quantity)",
                             "--work-center", workCenter, "--state", state])
        guard let id = (o["id"] as? NSNumber)?.int64Value else { throw FixtureError("no id in \(o)") }
        return (id, o["number"] as? String ?? "")
    }

    /// Sets an assigned (or waiting) production running, as a planner does when the next order starts.
    public func runProduction(_ id: Int64) throws {
        try fixture(["production", dir.path, "run", "\(id)"])
    }

    /// Receives `quantity` of `product` into storage under a new lot `number` (a supplier delivery).
    public func receiveLot(_ number: String, product: String = "STEEL", quantity: Double) throws {
        _ = try fixture(["lot", dir.path, "--product", product, "--number", number, "--quantity", "\(quantity)"])
    }

    /// A lot's quality state and its quantity in storage (`STO`) and on hold (`QUA`).
    public func lot(_ number: String, product: String) throws -> [String: Any] {
        try fixture(["lot-show", dir.path, "--product", product, "--number", number])
    }

    public func completeProduction(_ id: Int64) throws {
        try fixture(["production", dir.path, "done", "\(id)"])
    }

    /// Changes a waiting (or draft) production's quantity as a planner does: back to draft, the new
    /// quantity, released again.
    public func requantifyProduction(_ id: Int64, quantity: Double) throws {
        try fixture(["production", dir.path, "requantify", "\(id)", "--quantity", "\(quantity)"])
    }

    public func cancelProduction(_ id: Int64) throws {
        try fixture(["production", dir.path, "cancel", "\(id)"])
    }

    /// The production as the fixture shows it (state, inputs, outputs, works with their cycles).
    public func production(_ id: Int64) throws -> [String: Any] {
        try fixture(["production", dir.path, "show", "\(id)"])
    }

    /// The production's moves as Tryton has them.
    public func moves(_ id: Int64) throws -> (inputs: [[String: Any]], outputs: [[String: Any]], state: String) {
        let o = try fixture(["production", dir.path, "show", "\(id)"])
        return (o["inputs"] as? [[String: Any]] ?? [], o["outputs"] as? [[String: Any]] ?? [], o["state"] as? String ?? "")
    }

    /// The fixture's HTTP proxy in front of this server, started with `faults` (JSON the proxy reads
    /// from its control file: `delay_after_upstream_s`, `match`, `times`, `drop`) and accepting; its
    /// process (terminate it) and port.
    public func proxy(faults: String) throws -> (process: ChildProcess, port: Int) {
        let port = try FreePort.find()
        let control = dir.appendingPathComponent("proxy.json").path
        try faults.write(toFile: control, atomically: true, encoding: .utf8)
        let process = try ChildProcess(Python.executable, [Self.fixture, "proxy", "--listen", "\(port)", "--upstream", "\(self.port)",
                                                            "--control", control],
                                       outputFile: dir.appendingPathComponent("proxy.log").path)
        do { try FreePort.waitUntilAccepting(port: port, timeout: 20) } catch {
            process.terminate(grace: 1)
            throw error
        }
        return (process, port)
    }

    public func stop() { child.withLock { $0?.terminate(grace: 5); $0 = nil } }

    deinit { child.withLock { $0?.terminate(grace: 2) } }
}
