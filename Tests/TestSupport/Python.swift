import Foundation

/// The Python the tests run their fixtures with: the project's environment that `scripts/setup`
/// creates (`.venv`, or `$MILLWRIGHT_VENV`), so no test depends on what the system Python has
/// installed (Debian and Ubuntu refuse installs into it, PEP 668).
///
/// Why a type: one place decides, and a test run without the environment (setup not run yet) says
/// how to make it instead of failing on a missing module.
public enum Python {
    public static var environment: URL {
        if let v = ProcessInfo.processInfo.environment["MILLWRIGHT_VENV"], !v.isEmpty { return URL(fileURLWithPath: v) }
        return packageRoot.appendingPathComponent(".venv")
    }

    /// `<environment>/bin/python3`; the `python3` on PATH when the environment does not exist.
    public static var executable: String {
        let path = environment.appendingPathComponent("bin/python3").path
        if FileManager.default.isExecutableFile(atPath: path) { return path }
        return (try? Executables.locate("python3")) ?? "/usr/bin/python3"
    }
}
