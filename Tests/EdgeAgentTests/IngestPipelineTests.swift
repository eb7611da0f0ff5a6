import EdgeConfig
import EdgeRules
import Foundation
import MillwrightCore
import Testing
@testable import EdgeAgent

@Suite struct IngestPipelineTests {
    let t0: Int64 = 1_764_000_000_000

    @Test func promotesEnvelopesWithIdentityRuleAndSensorTime() throws {
        let sink = CollectingSink()
        let p = IngestPipeline(config: try config(plantYAML()), sink: sink, idScheme: .sequential(prefix: "t-"))
        p.feed("plant/press-7/temp", #"{"v": 50, "ts": \#(t0 - 500)}"#, at: t0)
        p.feed("plant/press-7/temp", #"{"v": 85.5, "ts": \#(t0 + 500)}"#, at: t0 + 1000)
        let e = try #require(sink.events.first)
        #expect(sink.events.count == 1)
        #expect(e.eventID == "t-000001")
        #expect(e.site == "test-plant" && e.edge == "gw-test")
        #expect(e.equipment == "press-7" && e.signal == "temperature")
        #expect(e.type == .limitRaised && e.priority == .alarm)
        #expect(e.rule == "temp.limit")
        #expect(e.occurredAt.milliseconds == t0 + 500)
        #expect(e.timeSource == .sensor)
        #expect(e.edgeReceivedAt.milliseconds == t0 + 1000)
        #expect(e.values["value"] == .number(85.5))
        // The state that produced the event travels with it.
        #expect(sink.states.last?.key == "temp|press-7|temperature")
    }

    /// Past the instance cap a new instance is refused with its own reason, not as an unknown topic.
    @Test func instancesBeyondTheCapAreRefusedAsTooMany() throws {
        let sink = CollectingSink()
        let p = IngestPipeline(config: try config(plantYAML()), sink: sink)
        for k in 0..<IngestPipeline.maxInstances { p.feed("plant/m\(k)/parts", "1", at: t0) }
        p.feed("plant/one-too-many/parts", "1", at: t0)
        p.feed("plant/m7/parts", "2", at: t0 + 1000)
        p.feed("nowhere/x", "1", at: t0)
        let counts = Dictionary(uniqueKeysWithValues: p.stats.quarantined.map { ($0.reason.rawValue, $0.count) })
        #expect(counts == ["too_many_instances": 1, "unknown_topic": 1])
        #expect(p.stats.instances == IngestPipeline.maxInstances)
    }

    @Test func badInputIsCountedPerReasonAndSensorQuarantinedAndSurvived() throws {
        let sink = CollectingSink()
        let p = IngestPipeline(config: try config(plantYAML()), sink: sink)
        p.feed("plant/m1/temp", #"{"v": 1"#, at: t0)                                 // malformed
        p.feed("plant/m1/temp", #"{"x": 1}"#, at: t0)                                // missing field
        p.feed("plant/m1/temp", #"{"v": "hot"}"#, at: t0)                            // wrong type for a limit
        p.feed("plant/m1/temp", #"{"v": 1e999}"#, at: t0)                            // non-finite
        p.feed("plant/m1/temp", #"{"v": 1, "ts": "soon"}"#, at: t0)                  // bad timestamp
        p.feed("plant/m1/temp", "{\"v\": \"" + String(repeating: "x", count: 600) + "\"}", at: t0)  // oversized
        p.feed("elsewhere/m1/temp", "1", at: t0)                                     // unknown topic
        p.feed("plant/m1/parts", "-5", at: t0)                                       // negative counter
        p.feed("plant/m1/state", "EXPLODED", at: t0)                                 // unmapped state
        p.feed("plant/m1/temp", #"{"v": 20}"#, at: t0)                               // good
        let s = p.stats
        #expect(s.messagesReceived == 10)
        #expect(s.messagesRejected == 6)
        #expect(s.messagesProcessed == 4)
        let counts = Dictionary(uniqueKeysWithValues: s.quarantined.map { ("\($0.reason.rawValue)/\($0.sensor)", $0.count) })
        #expect(counts == [
            "malformed_payload/temp": 1, "missing_field/temp": 1, "wrong_type/temp": 1, "non_finite/temp": 1,
            "bad_timestamp/temp": 1, "oversized/temp": 1, "unknown_topic/-": 1, "negative_counter/parts": 1,
            "unmapped_state/state": 1,
        ])
        // quarantine_keep: 5 bounds the samples kept in memory; the counts above stay exact.
        #expect(p.recentQuarantine.count == 5)
        #expect(p.recentQuarantine.last?.reason == .unmappedState)
        #expect(sink.quarantine.first?.payload == #"{"v": 1"#)
        #expect(sink.quarantine.first { $0.reason == .oversized }?.payload.utf8.count == 256)
    }

    @Test func clockSkewUsesReceiveTimeByDefaultAndIsCounted() throws {
        let sink = CollectingSink()
        let p = IngestPipeline(config: try config(plantYAML()), sink: sink)
        p.feed("plant/m1/temp", #"{"v": 90, "ts": \#(t0 + 3_600_000)}"#, at: t0)   // an hour in the future
        let e = try #require(sink.events.first)
        #expect(e.timeSource == .receiveSkewed)
        #expect(e.occurredAt.milliseconds == t0)
        #expect(p.stats.quarantined.map(\.reason) == [.futureTimestamp])
        p.feed("plant/m2/temp", #"{"v": 90, "ts": \#(t0 - 3 * 86_400_000)}"#, at: t0)  // three days old
        #expect(p.stats.quarantined.contains { $0.reason == .pastTimestamp && $0.count == 1 })
        #expect(sink.events.count == 2)
    }

    @Test func clockSkewCanBeRejected() throws {
        let yaml = plantYAML().replacingOccurrences(of: "  max_past_age: 1d", with: "  max_past_age: 1d\n  on_clock_skew: reject")
        let sink = CollectingSink()
        let p = IngestPipeline(config: try config(yaml), sink: sink)
        p.feed("plant/m1/temp", #"{"v": 90, "ts": \#(t0 + 3_600_000)}"#, at: t0)
        #expect(sink.events.isEmpty)
        #expect(p.stats.messagesRejected == 1)
    }

    @Test func ticksDriveStaleAndCounterFlush() throws {
        let sink = CollectingSink()
        let p = IngestPipeline(config: try config(plantYAML()), sink: sink)
        p.feed("plant/m1/temp", #"{"v": 20}"#, at: t0)
        p.feed("plant/m1/parts", "65530", at: t0)
        p.feed("plant/m1/parts", "4", at: t0 + 500)
        p.tick(now: Timestamp(milliseconds: t0 + 1500))
        #expect(sink.events.map(\.type) == [.count])
        #expect(sink.events.first?.values["delta"] == .number(10))
        #expect(sink.events.first?.values["rollovers"] == .number(1))
        p.tick(now: Timestamp(milliseconds: t0 + 2500))
        #expect(sink.events.map(\.type) == [.count, .stale])
    }

    @Test func checkpointSavesOnlyInstancesThatChangedWithoutAnEvent() throws {
        let sink = CollectingSink()
        let p = IngestPipeline(config: try config(plantYAML()), sink: sink)
        p.feed("plant/m1/parts", "100", at: t0)
        p.feed("plant/m2/parts", "100", at: t0)
        p.checkpoint(now: Timestamp(milliseconds: t0))
        #expect(Set(sink.states.map(\.key)) == ["parts|m1|parts", "parts|m2|parts"])
        p.checkpoint(now: Timestamp(milliseconds: t0 + 10))
        #expect(sink.states.count == 2)
    }

    @Test func reloadKeepsStateOfUnchangedRulesAndResetsChangedOnes() throws {
        let sink = CollectingSink()
        let p = IngestPipeline(config: try config(plantYAML(high: 80)), sink: sink)
        p.feed("plant/m1/temp", #"{"v": 85}"#, at: t0)         // raised at 80
        p.feed("plant/m1/parts", "100", at: t0)
        #expect(sink.events.map(\.type) == [.limitRaised])
        // Unchanged limit: the alarm stays raised, no second raise; the counter keeps its baseline.
        let same = plantYAML(high: 80).replacingOccurrences(of: "every: 1s", with: "every: 1s ")
        try p.reconfigure(to: try config(same + "\n"))
        p.feed("plant/m1/temp", #"{"v": 86}"#, at: t0 + 100)
        #expect(sink.events.count == 1)
        // A changed limit starts over: 86 is above the new 85, so it raises afresh.
        try p.reconfigure(to: try config(plantYAML(high: 85)))
        p.feed("plant/m1/temp", #"{"v": 86}"#, at: t0 + 200)
        #expect(sink.events.map(\.type) == [.limitRaised, .limitRaised])
        #expect(sink.events.last?.values["threshold"] == .number(85))
        p.feed("plant/m1/parts", "130", at: t0 + 300)
        p.tick(now: Timestamp(milliseconds: t0 + 1500))
        #expect(sink.events.last?.values["delta"] == .number(30), "the counter baseline survived both reloads")
    }

    @Test func reloadRefusesIdentityChanges() throws {
        let p = IngestPipeline(config: try config(plantYAML()), sink: CollectingSink())
        let other = plantYAML().replacingOccurrences(of: "edge: gw-test", with: "edge: gw-other")
        #expect(throws: IngestPipeline.ReloadRefusal.self) { try p.reconfigure(to: try config(other)) }
        #expect(p.configuration.edge == "gw-test")
    }
}

@Suite struct BootEpochTests {
    @Test func epochsNeverRepeatEvenForANewOutboxFile() {
        let now = Timestamp(milliseconds: 1_764_000_000_000)
        #expect(EdgeStore.nextEpoch(after: 0, now: now) == 1_764_000_000)                  // a new file starts at the clock
        #expect(EdgeStore.nextEpoch(after: 1_764_000_000, now: now) == 1_764_000_001)      // a quick restart still moves on
        #expect(EdgeStore.nextEpoch(after: 1_764_000_500, now: now) == 1_764_000_501)      // a clock set back cannot go below
    }
}
