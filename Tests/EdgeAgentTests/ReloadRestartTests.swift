import EdgeConfig
import Testing
@testable import EdgeAgent

/// A reload says which changed settings wait for a restart instead of claiming them applied.
@Suite struct ReloadRestartTests {
    static func config(_ uplink: String, tick: String, high: Int) throws -> EdgeConfiguration {
        try EdgeConfiguration.parse(yaml: """
            site: s
            edge: e
            brokers:
              plant: {}
            uplink: { \(uplink) }
            ingest: { tick_interval: \(tick) }
            sensors:
              - name: t
                topic: "a/{equipment}"
                decode: { format: number }
                rules:
                  limit: { high: \(high) }
            """)
    }

    @Test func uplinkAndTimingChangesAreNamedThresholdsAreNot() throws {
        let old = try Self.config("batch_events: 500", tick: "1s", high: 80)
        #expect(ConfigReloadService.needingRestart(from: old, to: try Self.config("batch_events: 500", tick: "1s", high: 85)).isEmpty)
        #expect(ConfigReloadService.needingRestart(from: old, to: try Self.config("batch_events: 200", tick: "2s", high: 85))
                == ["uplink", "ingest.tick_interval"])
    }
}
