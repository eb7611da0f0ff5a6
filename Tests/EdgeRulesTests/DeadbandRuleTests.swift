import Foundation
import Testing
@testable import EdgeRules
import MillwrightCore

@Suite("DeadbandRule")
struct DeadbandRuleTests {
    private func reported(at ms: Int64, _ value: Double, _ reason: String, previous: Double? = nil) -> RuleEvent {
        var values: [String: Value] = ["value": .number(value), "reason": .text(reason)]
        if let previous { values["previous"] = .number(previous) }
        return expected(.valueReported, at: ms, values, kind: .deadband)
    }

    @Test func firstValueIsAlwaysReported() {
        var rule = DeadbandRule(params: DeadbandParams(absolute: 1000))
        let run = feed(&rule, [(5000, 42.5)])
        #expect(run.events == [reported(at: 5000, 42.5, "first")])
    }

    @Test func absoluteDeadband() {
        var rule = DeadbandRule(params: DeadbandParams(absolute: 1))
        let run = feed(&rule, [
            (0, 50), (1000, 50.5), (2000, 51), (3000, 49), (4000, 51.5), (5000, 50.75), (6000, 50.25), (7000, 52.5),
        ])
        #expect(run.events == [
            reported(at: 0, 50, "first"),
            // Moved exactly 1 (51, 49): not beyond the band.
            reported(at: 4000, 51.5, "deadband", previous: 50),
            // Measured from the last reported value (51.5), not from the last sample.
            reported(at: 6000, 50.25, "deadband", previous: 51.5),
            reported(at: 7000, 52.5, "deadband", previous: 50.25),
        ])
    }

    @Test func percentDeadband() {
        var rule = DeadbandRule(params: DeadbandParams(percent: 10))
        let run = feed(&rule, [(0, 200), (1000, 215), (2000, 220), (3000, 180), (4000, 221), (5000, 200), (6000, 198)])
        #expect(run.events == [
            reported(at: 0, 200, "first"),
            // 10% of 200 is 20: 220 and 180 are on the edge, 221 is beyond it.
            reported(at: 4000, 221, "deadband", previous: 200),
            // Now 10% of 221 = 22.1: 200 moved 21, 198 moved 23.
            reported(at: 6000, 198, "deadband", previous: 221),
        ])
    }

    @Test func percentOfANegativeValueUsesItsMagnitude() {
        var rule = DeadbandRule(params: DeadbandParams(percent: 50))
        let run = feed(&rule, [(0, -10), (1000, -14), (2000, -16)])
        #expect(run.events == [reported(at: 0, -10, "first"), reported(at: 2000, -16, "deadband", previous: -10)])
    }

    @Test func heartbeatReportsAnUnchangedValue() {
        var rule = DeadbandRule(params: DeadbandParams(absolute: 5, heartbeat: .seconds(60)))
        let run = feed(&rule, [(0, 10), (30000, 11), (59999, 11), (60000, 11), (90000, 12), (120000, 12), (121000, 12)])
        #expect(run.events == [
            reported(at: 0, 10, "first"),
            reported(at: 60000, 11, "heartbeat", previous: 10),
            reported(at: 120000, 12, "heartbeat", previous: 11),
        ])
    }

    @Test func deadbandReportRestartsTheHeartbeat() {
        var rule = DeadbandRule(params: DeadbandParams(absolute: 5, heartbeat: .seconds(60)))
        let run = feed(&rule, [(0, 10), (50000, 20), (100000, 20), (110000, 20)])
        #expect(run.events == [
            reported(at: 0, 10, "first"),
            reported(at: 50000, 20, "deadband", previous: 10),
            reported(at: 110000, 20, "heartbeat", previous: 20),
        ])
    }

    @Test func noReportInsideTheBand() {
        var rule = DeadbandRule(params: DeadbandParams(absolute: 1, percent: 2))
        var samples: [(Int64, Value)] = []
        for i in 0..<100 { samples.append((Int64(i) * 1000, .number(100 + Double(i % 5) * 0.25 - 0.5))) }
        let run = feed(&rule, samples)
        #expect(run.events == [reported(at: 0, 99.5, "first")])
    }

    @Test func withoutParametersOnlyTheFirstValueIsReported() {
        var rule = DeadbandRule(params: DeadbandParams())
        let run = feed(&rule, [(0, 1), (1000, 1000), (2000, -1000)])
        #expect(run.events == [reported(at: 0, 1, "first")])
    }

    @Test func textIsRejectedAsWrongType() {
        var rule = DeadbandRule(params: DeadbandParams(absolute: 1))
        let run = feed(&rule, [(0, "warming up"), (1000, 5)])
        #expect(run.rejectionReasons == [.wrongType])
        #expect(run.events == [reported(at: 1000, 5, "first")])
    }

    @Test func restartKeepsTheLastReportedValue() throws {
        var rule = DeadbandRule(params: DeadbandParams(absolute: 1, heartbeat: .seconds(60)))
        feed(&rule, [(0, 10), (10000, 12)])
        var revived = try restarted(rule)
        #expect(revived == rule)
        let after = feed(&revived, [(20000, 12.5), (70000, 12.5), (71000, 14)])
        #expect(after.events == [
            reported(at: 70000, 12.5, "heartbeat", previous: 12),
            reported(at: 71000, 14, "deadband", previous: 12.5),
        ])
    }
}
