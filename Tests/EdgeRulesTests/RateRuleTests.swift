import Foundation
import Testing
@testable import EdgeRules
import MillwrightCore

@Suite("RateRule")
struct RateRuleTests {
    /// 2 units per second, measured over 4 s.
    private let params = RateParams(limit: 2, window: .seconds(4))

    private func raised(at ms: Int64, rate: Double, value: Double) -> RuleEvent {
        expected(.rateRaised, at: ms, [
            "rate_per_s": .number(rate), "limit_per_s": 2, "value": .number(value), "window_s": 4,
        ], kind: .rate)
    }

    private func cleared(at ms: Int64, rate: Double, peak: Double, value: Double, duration: Double) -> RuleEvent {
        expected(.rateCleared, at: ms, [
            "rate_per_s": .number(rate), "peak_rate_per_s": .number(peak), "value": .number(value),
            "duration_s": .number(duration),
        ], kind: .rate)
    }

    /// A ramp: 0, 1, then a jump to 10 and 21 (exceeded), then flat at 21 until the window slides past the jump.
    private let ramp: [(Int64, Value)] = [
        (0, 0), (1000, 1), (2000, 10), (3000, 21), (4000, 21), (5000, 21), (6000, 21), (7000, 21),
    ]

    @Test func raisesOnceWhileExceededAndClearsWhenBackWithinTheLimit() {
        var rule = RateRule(params: params)
        let run = feed(&rule, ramp)
        // Rates from the oldest sample in the window: 1, 5, 7, 5.25, 5 (t=1 s is oldest), 2.75, 0.
        #expect(run.events == [
            raised(at: 2000, rate: 5, value: 10),
            cleared(at: 7000, rate: 0, peak: 7, value: 21, duration: 5),
        ])
        #expect(rule.active == false)
    }

    @Test func rateExactlyAtTheLimitDoesNotRaise() {
        var rule = RateRule(params: params)
        let run = feed(&rule, [(0, 0), (1000, 2), (2000, 4), (4000, 8)])
        #expect(run.events.isEmpty)
    }

    @Test func fallingRateRaisesWithANegativeRate() {
        var rule = RateRule(params: params)
        let run = feed(&rule, [(0, 100), (1000, 99), (2000, 80), (3000, 70), (8000, 70)])
        // At 8 s every earlier sample has left the 4 s window: no rate yet, so no clear yet.
        #expect(run.events.first == raised(at: 2000, rate: -10, value: 80))
        #expect(run.events.count == 1)
        let more = feed(&rule, [(9000, 70)])
        #expect(more.events == [cleared(at: 9000, rate: 0, peak: -10, value: 70, duration: 7)])
    }

    @Test func firstSampleAloneGivesNoRate() {
        var rule = RateRule(params: params)
        let run = feed(&rule, [(0, 1_000_000)])
        #expect(run.events.isEmpty)
        #expect(run.rejections.isEmpty)
    }

    @Test func outOfOrderSampleIsRejectedAndIgnored() {
        var rule = RateRule(params: params)
        let run = feed(&rule, [(0, 0), (2000, 1), (1000, 50), (3000, 2)])
        #expect(run.rejectionReasons == [.outOfOrder])
        #expect(run.rejections.first?.ms == 1000)
        // The rejected 50 is not remembered: the rate at 3 s is 0 -> 2 over 3 s.
        #expect(run.events.isEmpty)
        #expect(rule.times == [0, 2000, 3000])
        #expect(rule.values == [0, 1, 2])
    }

    @Test func sampleAtTheSameTimeIsAccepted() {
        var rule = RateRule(params: params)
        let run = feed(&rule, [(0, 0), (1000, 1), (1000, 1.5)])
        #expect(run.rejections.isEmpty)
        #expect(run.events.isEmpty)
    }

    @Test func textIsRejectedAsWrongType() {
        var rule = RateRule(params: params)
        let run = feed(&rule, [(0, 0), (1000, "n/a"), (2000, 1)])
        #expect(run.rejectionReasons == [.wrongType])
        #expect(run.events.isEmpty)
        #expect(rule.times == [0, 2000])
    }

    @Test func windowDropsOldSamples() {
        var rule = RateRule(params: params)
        // 0 -> 60 over 6 s is 10/s, but 0 s is outside the 4 s window: the rate is measured from 6 s on.
        let run = feed(&rule, [(0, 0), (6000, 60), (7000, 61), (8000, 62), (10000, 64)])
        #expect(run.events.isEmpty)
        #expect(rule.times == [6000, 7000, 8000, 10000])
    }

    @Test func restartMidAlarmDoesNotRaiseAgainAndClearsWithFullDuration() throws {
        var rule = RateRule(params: params)
        let before = feed(&rule, Array(ramp.prefix(4)))
        #expect(before.events == [raised(at: 2000, rate: 5, value: 10)])

        var revived = try restarted(rule)
        #expect(revived == rule)
        let after = feed(&revived, Array(ramp.dropFirst(4)))
        #expect(after.events == [cleared(at: 7000, rate: 0, peak: 7, value: 21, duration: 5)])
    }
}
