import CentralIngest
import CentralSync
import ConfigSupport
import MillwrightCore
import Testing

/// `retention:` in the central's configuration: defaults, `forever`, and every refusal located.
@Suite struct RetentionConfigurationTests {
    static func central(_ retention: String) throws -> CentralConfiguration {
        try CentralConfiguration.parse(yaml: "central: c1\nbroker: { host: 127.0.0.1, port: 1884 }\n\(retention)\n", file: "central.yaml")
    }

    static func refusal(_ retention: String) -> String {
        do {
            _ = try central(retention)
            _ = try SyncConfiguration.parse(yaml: "central: c1\nbroker: { host: 127.0.0.1, port: 1884 }\n\(retention)\n", file: "central.yaml")
            return "accepted"
        } catch {
            return "\(error)"
        }
    }

    @Test func defaultsKeepEveryClassForItsTime() throws {
        let r = try Self.central("").retention
        #expect(r.retention(.summaries) == .days(90) && r.retention(.states) == .days(365))
        #expect(r.retention(.alarms) == .days(730) && r.retention(.counts) == .days(730) && r.retention(.gaps) == .days(730))
        #expect(r.every == .hours(1) && r.chunk == 2000 && r.pace == 0.05 && r.archiveDir == nil && r.volumeWarning == 0.8 && r.volumeBytes == nil)
        #expect(RetentionClass.allCases.flatMap(\.types).count == EventType.allCases.count, "every event type has a class")
    }

    @Test func everyKeyReads() throws {
        let r = try Self.central("""
            retention: { summaries: 30d, states: forever, every: 10m, chunk: 500, pace: 25%, archive: /srv/archive, volume_warning: 90%, volume_size: 20GiB }
            """).retention
        #expect(r.retention(.summaries) == .days(30) && r.retention(.states) == nil && r.retention(.alarms) == .days(730))
        #expect(r.every == Millis(600_000) && r.chunk == 500 && r.pace == 0.25 && r.archiveDir == "/srv/archive")
        #expect(r.volumeWarning == 0.9 && r.volumeBytes == 20 * 1_073_741_824)
    }

    @Test func refusalsAreLocated() {
        #expect(Self.refusal("retention: { summaries: 2d }").contains("central.yaml:3:") && Self.refusal("retention: { summaries: 2d }").contains("at least 7d"))
        #expect(Self.refusal("retention: { sumaries: 30d }").contains("did you mean \"summaries\""))
        #expect(Self.refusal("retention: { volume_warning: 0.8 }").contains("like 80%"))
        #expect(Self.refusal("retention: { pace: 0% }").contains("1% to 100%"))
        #expect(Self.refusal("retention: { pace: 0.1 }").contains("1% to 100%"))
        #expect(Self.refusal("retention: { volume_size: lots }").contains("like 20GiB"))
        #expect(Self.refusal("retention: { every: 1s }").contains("at least 10s"))
        // Counts are read back by the reconciliation up to its horizon (30d by default).
        let counts = Self.refusal("retention: { counts: 20d }")
        #expect(counts.contains("must be at least a day longer than reconcile.horizon"), "\(counts)")
        #expect(Self.refusal("retention: { counts: 31d }") == "accepted")
        #expect(Self.refusal("reconcile: { horizon: 60d }\nretention: { counts: 31d }").contains("reconcile.horizon"))
        #expect(Self.refusal("retention: { counts: forever }") == "accepted")
    }
}
