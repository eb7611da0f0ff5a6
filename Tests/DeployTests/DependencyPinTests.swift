import Foundation
import Testing
import TestSupport

/// Two builds of one commit use the same Swift packages: every dependency in Package.swift is
/// pinned with `exact:` and says why on the line above, and the versions this build checked out
/// (direct and transitive) are the ones recorded in Package.versions. Package.resolved cannot do
/// it here: the package copies this project builds from carry other commit ids than their origins.
@Suite struct DependencyPinTests {
    static let manifest = packageRoot.appendingPathComponent("Package.swift")
    static let versions = packageRoot.appendingPathComponent("Package.versions")
    static let workspaceState = packageRoot.appendingPathComponent(".build/workspace-state.json")

    /// The `.package(...)` lines of a manifest that are not pinned exactly or have no comment above.
    static func unpinned(_ manifest: String) -> [String] {
        let lines = manifest.components(separatedBy: "\n")
        var problems: [String] = []
        for (i, line) in lines.enumerated() where line.trimmingCharacters(in: .whitespaces).hasPrefix(".package(") {
            let text = line.trimmingCharacters(in: .whitespaces)
            if !text.contains("exact:") { problems.append("line \(i + 1) is not pinned with exact: \(text)") }
            let above = i > 0 ? lines[i - 1].trimmingCharacters(in: .whitespaces) : ""
            if !above.hasPrefix("//") { problems.append("line \(i + 1) has no comment above saying why: \(text)") }
        }
        return problems
    }

    /// "identity version" per line, comments and blank lines left out.
    static func recorded(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            if parts.count == 2 { out[String(parts[0])] = String(parts[1]) }
        }
        return out
    }

    /// The versions the last resolution checked out (SwiftPM's own record of the build's packages).
    static func checkedOut() throws -> [String: String] {
        let data = try Data(contentsOf: workspaceState)
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let deps = try #require((root["object"] as? [String: Any])?["dependencies"] as? [[String: Any]])
        var out: [String: String] = [:]
        for d in deps {
            let id = try #require((d["packageRef"] as? [String: Any])?["identity"] as? String)
            let version = ((d["state"] as? [String: Any])?["checkoutState"] as? [String: Any])?["version"] as? String
            out[id] = version ?? "unversioned"
        }
        return out
    }

    static func differences(recorded: [String: String], built: [String: String]) -> [String] {
        Set(recorded.keys).union(built.keys).sorted().compactMap { id in
            recorded[id] == built[id] ? nil : "\(id): Package.versions \(recorded[id] ?? "-"), built \(built[id] ?? "-")"
        }
    }

    @Test func everyDependencyIsPinnedExactlyWithAReason() throws {
        let text = try String(contentsOf: Self.manifest, encoding: .utf8)
        #expect(text.components(separatedBy: ".package(").count - 1 >= 8, "the manifest's dependencies were not found")
        #expect(Self.unpinned(text) == [])
        // The check itself catches a range and a missing reason.
        let loose = text.replacingOccurrences(of: #"swift-log", exact: "1.16.2")"#, with: #"swift-log", from: "1.16.2")"#)
        #expect(Self.unpinned(loose).contains { $0.contains("not pinned with exact") && $0.contains("swift-log") })
        let silent = text.replacingOccurrences(of: "        // Logging API, shared with every library below.\n", with: "")
        #expect(Self.unpinned(silent).contains { $0.contains("no comment above") && $0.contains("swift-log") })
    }

    @Test func theBuildUsedExactlyTheRecordedVersions() throws {
        let recorded = Self.recorded(try String(contentsOf: Self.versions, encoding: .utf8))
        let built = try Self.checkedOut()
        #expect(recorded.count >= 20, "Package.versions lists the transitive packages too")
        #expect(Self.differences(recorded: recorded, built: built) == [],
                "move a dependency as README \"Moving a dependency\" says, then scripts/check-dependencies --write")
        // A drifted transitive package is caught.
        var drifted = recorded
        drifted["swift-nio-ssl"] = "2.0.0"
        #expect(Self.differences(recorded: drifted, built: built) == ["swift-nio-ssl: Package.versions 2.0.0, built \(built["swift-nio-ssl"] ?? "-")"])
    }
}
