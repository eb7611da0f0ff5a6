import Foundation
import Testing
import TestSupport

/// The systemd units in deploy/systemd are checked by systemd itself: `systemd-analyze verify`
/// (syntax, keys, executables) and `systemd-analyze security --offline` (the hardening score).
/// Units cannot be started here (no systemd as PID 1), so the check is static.
@Suite struct SystemdUnitTests {
    static let analyzer = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].first { FileManager.default.isExecutableFile(atPath: $0) }

    static func analyze(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try DeployTools.run(analyzer!, arguments)
    }

    /// A copy of the unit whose commands point at the binaries this build made.
    static func unit(_ name: String, dir: URL) throws -> String {
        let source = packageRoot.appendingPathComponent("deploy/systemd/\(name).service").path
        let text = try String(contentsOfFile: source, encoding: .utf8)
            .replacingOccurrences(of: "/usr/local/bin/\(name)", with: packageRoot.appendingPathComponent(".build/debug/\(name)").path)
        let path = dir.appendingPathComponent("\(name).service").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test(.enabled(if: analyzer != nil, "systemd-analyze is not installed"), arguments: ["millwright-edge", "millwright-central"])
    func theUnitVerifiesCleanAndIsHardened(name: String) throws {
        let dir = try TemporaryDirectory.make(prefix: "units")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try Self.unit(name, dir: dir)
        let verify = try Self.analyze(["verify", path])
        #expect(verify.status == 0 && verify.output.isEmpty, "systemd-analyze verify: \(verify.output)")
        let security = try Self.analyze(["security", "--offline=true", path])
        let line = security.output.split(separator: "\n").first { $0.contains("Overall exposure level") }.map(String.init) ?? ""
        let score = line.split(separator: " ").compactMap { Double($0) }.first
        // systemd rates 0 (safe) to 10 (exposed); "OK" is below 5. The units score about 1.4.
        #expect(score.map { $0 <= 2.0 } == true, "exposure: \(line)")
        let text = try String(contentsOfFile: path, encoding: .utf8)
        for key in ["StateDirectory=", "Restart=always", "ProtectSystem=strict", "CapabilityBoundingSet=", "User=millwright"] {
            #expect(text.contains(key), "\(name) lacks \(key)")
        }
    }
}
