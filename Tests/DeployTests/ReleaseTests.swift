import Foundation
import Testing
import TestSupport

/// One version, in one place: both binaries print the version CHANGELOG.md's newest release names,
/// the changelog keeps the Keep a Changelog form, and the licence is Apache-2.0.
@Suite struct ReleaseTests {
    static let root = packageRoot

    /// "0.9.0" from the first "## [0.9.0] - 2026-12-07" heading.
    static func newestRelease(_ changelog: String) -> String? {
        for line in changelog.split(separator: "\n") where line.hasPrefix("## [") && !line.hasPrefix("## [Unreleased]") {
            guard let close = line.firstIndex(of: "]") else { return nil }
            return String(line[line.index(line.startIndex, offsetBy: 4)..<close])
        }
        return nil
    }

    @Test func bothBinariesPrintTheVersionOfTheNewestRelease() throws {
        let changelog = try String(contentsOf: Self.root.appendingPathComponent("CHANGELOG.md"), encoding: .utf8)
        #expect(changelog.contains("## [Unreleased]"), "changes not yet released go under [Unreleased]")
        let version = try #require(Self.newestRelease(changelog))
        #expect(version.split(separator: ".").count == 3 && version.split(separator: ".").allSatisfy { Int($0) != nil }, "\(version)")
        for binary in [EdgeProcess.binary, CentralProcess.binary] {
            let printed = try Executables.run(binary, ["--version"]).output.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(printed == version, "\(binary) --version printed \(printed); CHANGELOG's newest release is \(version)")
        }
        #expect(Self.newestRelease("# C\n## [Unreleased]\n## [1.2.3] - 2027-01-01\n## [1.2.2] - 2026-01-01\n") == "1.2.3")
    }

    @Test func theLicenceIsApache2() throws {
        let licence = try String(contentsOf: Self.root.appendingPathComponent("LICENSE"), encoding: .utf8)
        #expect(licence.contains("Apache License") && licence.contains("Version 2.0, January 2004"))
    }
}
