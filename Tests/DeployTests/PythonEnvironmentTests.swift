import Foundation
import Testing
import TestSupport

/// `scripts/setup` installs the Python tools into a virtual environment of its own, made from a
/// Python that refuses installs into itself (PEP 668), as Debian 12 and Ubuntu 24.04 ship it; the
/// environment then holds everything the tests import. Before, setup ran `python3 -m pip install`
/// into whatever `python3` was, which such a system refuses.
@Suite(.serialized) struct PythonEnvironmentTests {
    /// The distribution's own interpreter: on Debian and Ubuntu it is externally managed.
    static let systemPython = "/usr/bin/python3"

    @Test(.timeLimit(.minutes(10))) func setupBuildsItsOwnEnvironmentFromAnExternallyManagedPython() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.systemPython), "no \(Self.systemPython) on this machine")
        // The base refuses system installs: its standard library carries the EXTERNALLY-MANAGED
        // marker, and pip into it fails (or there is no pip at all).
        let marker = try Executables.run(Self.systemPython, ["-c",
            "import sysconfig, os; print(os.path.exists(os.path.join(sysconfig.get_path('stdlib'), 'EXTERNALLY-MANAGED')))"]).output
        #expect(marker.trimmingCharacters(in: .whitespacesAndNewlines) == "True", "the base Python is not externally managed: \(marker)")
        let refused = try Executables.run(Self.systemPython, ["-m", "pip", "install", "--dry-run", "paho-mqtt"], withStderr: true)
        #expect(refused.status != 0, "the system Python accepted an install: \(refused.output)")

        let dir = try TemporaryDirectory.make(prefix: "venv")
        defer { try? FileManager.default.removeItem(at: dir) }
        let venv = dir.appendingPathComponent("env").path
        let setup = packageRoot.appendingPathComponent("scripts/setup").path
        let r = try Executables.run("/usr/bin/env", ["MILLWRIGHT_PYTHON=\(Self.systemPython)", "MILLWRIGHT_VENV=\(venv)", "bash", setup, "--python-only"],
                                    withStderr: true)
        #expect(r.status == 0, "scripts/setup --python-only failed:\n\(r.output)")
        #expect(r.output.contains("creating the Python environment \(venv)"), "\(r.output)")
        // Everything the tests and the demo import, from that environment.
        let imports = try Executables.run("\(venv)/bin/python3", ["-c", """
            import paho.mqtt.client, proteus
            import trytond.modules.production_work, trytond.modules.production_routing, trytond.modules.stock, trytond.modules.millwright
            print("imported")
            """], withStderr: true)
        #expect(imports.output.contains("imported"), "\(imports.output)")
        #expect(FileManager.default.isExecutableFile(atPath: "\(venv)/bin/trytond"), "the Tryton server command is in the environment")
        // A second run has nothing to do.
        let again = try Executables.run("/usr/bin/env", ["MILLWRIGHT_PYTHON=\(Self.systemPython)", "MILLWRIGHT_VENV=\(venv)", "bash", setup, "--python-only"],
                                        withStderr: true)
        #expect(again.status == 0 && !again.output.contains("setup:"), "a second setup did something:\n\(again.output)")
    }
}
