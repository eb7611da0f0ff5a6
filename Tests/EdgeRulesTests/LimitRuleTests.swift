import Foundation
import Testing
@testable import EdgeRules
import MillwrightCore

@Suite("LimitRule")
struct LimitRuleTests {
    private func raised(
        at ms: Int64, value: Double, severity: String, previous: String, peak: Double, threshold: Double
    ) -> RuleEvent {
        expected(.limitRaised, at: ms, [
            "value": .number(value), "severity": .text(severity), "previous_severity": .text(previous),
            "peak": .number(peak), "threshold": .number(threshold),
        ], kind: .limit)
    }

    private func cleared(
        at ms: Int64, value: Double, severity: String, remaining: String = "normal", duration: Double, peak: Double, threshold: Double
    ) -> RuleEvent {
        expected(.limitCleared, at: ms, [
            "value": .number(value), "severity": .text(severity), "remaining": .text(remaining), "duration_s": .number(duration),
            "peak": .number(peak), "threshold": .number(threshold),
        ], kind: .limit)
    }

    // MARK: raise and clear

    @Test func highRaisesAndClears() {
        var rule = LimitRule(params: LimitParams(high: 80))
        let run = feed(&rule, [(0, 70), (1000, 80), (2000, 90), (3000, 85), (4000, 79.5)])
        #expect(run.events == [
            raised(at: 1000, value: 80, severity: "high", previous: "normal", peak: 80, threshold: 80),
            cleared(at: 4000, value: 79.5, severity: "high", duration: 3, peak: 90, threshold: 80),
        ])
        #expect(run.rejections.isEmpty)
        #expect(rule.level == .normal)
    }

    @Test func lowRaisesAndClears() {
        var rule = LimitRule(params: LimitParams(low: 20))
        let run = feed(&rule, [(0, 30), (1000, 15), (2000, 10), (3000, 12), (5000, 20.5)])
        #expect(run.events == [
            raised(at: 1000, value: 15, severity: "low", previous: "normal", peak: 15, threshold: 20),
            cleared(at: 5000, value: 20.5, severity: "low", duration: 4, peak: 10, threshold: 20),
        ])
    }

    @Test func valuesInsideTheLimitsEmitNothing() {
        var rule = LimitRule(params: LimitParams(high: 80, low: 20))
        let run = feed(&rule, [(0, 50), (1000, 79.9), (2000, 20.1), (3000, 50)])
        #expect(run.events.isEmpty)
        #expect(rule.level == .normal)
    }

    @Test func eventsCarryTheSensorTimeAndTimeSource() {
        var rule = LimitRule(params: LimitParams(high: 80))
        var events: [RuleEvent] = []
        let s = Sample(value: 90, time: ts(5000), timeSource: .sensor, receivedAt: ts(7000))
        #expect(rule.observe(s, into: &events) == nil)
        #expect(events == [
            expected(.limitRaised, at: 5000, [
                "value": 90, "severity": "high", "previous_severity": "normal", "peak": 90, "threshold": 80,
            ], kind: .limit, source: .sensor),
        ])
    }

    // MARK: severities

    @Test func highEscalatesToHighHighAndDeEscalates() {
        var rule = LimitRule(params: LimitParams(high: 80, highHigh: 95))
        let run = feed(&rule, [
            (0, 85), (1000, 97), (2000, 99), (3000, 96), (4000, 90), (5000, 92), (6000, 70),
        ])
        #expect(run.events == [
            raised(at: 0, value: 85, severity: "high", previous: "normal", peak: 85, threshold: 80),
            raised(at: 1000, value: 97, severity: "high_high", previous: "high", peak: 97, threshold: 95),
            // Easing is the end of the high_high alarm; high stays raised.
            cleared(at: 4000, value: 90, severity: "high_high", remaining: "high", duration: 3, peak: 99, threshold: 95),
            // The clear reports the whole excursion from the first raise, with its peak.
            cleared(at: 6000, value: 70, severity: "high", duration: 6, peak: 99, threshold: 80),
        ])
    }

    @Test func jumpFromNormalStraightToHighHighRaisesOnce() {
        var rule = LimitRule(params: LimitParams(high: 80, highHigh: 95))
        let run = feed(&rule, [(0, 50), (1000, 100), (2000, 50)])
        #expect(run.events == [
            raised(at: 1000, value: 100, severity: "high_high", previous: "normal", peak: 100, threshold: 95),
            cleared(at: 2000, value: 50, severity: "high_high", duration: 1, peak: 100, threshold: 95),
        ])
    }

    @Test func lowEscalatesToLowLowAndDeEscalates() {
        var rule = LimitRule(params: LimitParams(low: 20, lowLow: 5))
        let run = feed(&rule, [(0, 15), (1000, 4), (2000, 2), (3000, 10), (4000, 30)])
        #expect(run.events == [
            raised(at: 0, value: 15, severity: "low", previous: "normal", peak: 15, threshold: 20),
            raised(at: 1000, value: 4, severity: "low_low", previous: "low", peak: 4, threshold: 5),
            cleared(at: 3000, value: 10, severity: "low_low", remaining: "low", duration: 2, peak: 2, threshold: 5),
            cleared(at: 4000, value: 30, severity: "low", duration: 4, peak: 2, threshold: 20),
        ])
    }

    @Test func highHighHysteresisHoldsTheSeverity() {
        var rule = LimitRule(params: LimitParams(high: 80, highHigh: 95, hysteresis: 2))
        // Back means strictly below threshold - hysteresis: 93 holds high_high, 92.9 eases it.
        let run = feed(&rule, [(0, 96), (1000, 94), (2000, 93.5), (3000, 93), (4000, 92.9)])
        #expect(run.events == [
            raised(at: 0, value: 96, severity: "high_high", previous: "normal", peak: 96, threshold: 95),
            cleared(at: 4000, value: 92.9, severity: "high_high", remaining: "high", duration: 4, peak: 96, threshold: 95),
        ])
    }

    // MARK: hysteresis

    @Test func chatterAtTheLimitGivesOneRaiseAndNoClear() {
        var rule = LimitRule(params: LimitParams(high: 80, hysteresis: 2))
        let run = feed(&rule, [
            (0, 79.5), (1000, 80.5), (2000, 79), (3000, 80.1), (4000, 78.5), (5000, 80.9), (6000, 79.9), (7000, 78.25),
        ])
        #expect(run.events == [
            raised(at: 1000, value: 80.5, severity: "high", previous: "normal", peak: 80.5, threshold: 80),
        ])
        #expect(rule.level == .high)

        // Exactly high - hysteresis is still inside the band; below it clears.
        #expect(feed(&rule, [(7500, 78)]).events.isEmpty)
        let more = feed(&rule, [(8000, 77.9)])
        #expect(more.events == [
            cleared(at: 8000, value: 77.9, severity: "high", duration: 7, peak: 80.9, threshold: 80),
        ])
    }

    @Test func chatterWithoutHysteresisRaisesAndClearsEachCrossing() {
        var rule = LimitRule(params: LimitParams(high: 80))
        let run = feed(&rule, [(0, 79.5), (1000, 80.5), (2000, 79.5), (3000, 80.5)])
        #expect(run.types == [.limitRaised, .limitCleared, .limitRaised])
    }

    @Test func lowChatterInsideHysteresisGivesOneRaise() {
        var rule = LimitRule(params: LimitParams(low: 20, hysteresis: 1))
        let run = feed(&rule, [(0, 20.5), (1000, 19.5), (2000, 20.5), (3000, 19.8), (4000, 21), (5000, 21.1)])
        #expect(run.events == [
            raised(at: 1000, value: 19.5, severity: "low", previous: "normal", peak: 19.5, threshold: 20),
            cleared(at: 5000, value: 21.1, severity: "low", duration: 4, peak: 19.5, threshold: 20),
        ])
    }

    // MARK: delays

    @Test func onDelaySuppressesAShortExcursion() {
        var rule = LimitRule(params: LimitParams(high: 80, onDelay: .seconds(5)))
        let run = feed(&rule, [(0, 70), (1000, 85), (3000, 95), (5999, 90), (6000, 75), (20000, 70)])
        #expect(run.events.isEmpty)
        #expect(rule.level == .normal)
    }

    @Test func onDelayRaisesOnceTheDelayHolds() {
        var rule = LimitRule(params: LimitParams(high: 80, onDelay: .seconds(5)))
        let run = feed(&rule, [(10000, 85), (12000, 88), (14999, 86), (15000, 84), (16000, 90), (20000, 70)])
        #expect(run.events == [
            // The peak covers the excursion while the delay ran.
            raised(at: 15000, value: 84, severity: "high", previous: "normal", peak: 88, threshold: 80),
            cleared(at: 20000, value: 70, severity: "high", duration: 5, peak: 90, threshold: 80),
        ])
    }

    @Test func onDelayRestartsAfterAnInterruption() {
        var rule = LimitRule(params: LimitParams(high: 80, onDelay: .seconds(5)))
        let run = feed(&rule, [(0, 85), (4000, 70), (5000, 85), (9000, 85), (10000, 85)])
        #expect(run.events == [
            raised(at: 10000, value: 85, severity: "high", previous: "normal", peak: 85, threshold: 80),
        ])
    }

    @Test func onDelayAppliesToEscalation() {
        var rule = LimitRule(params: LimitParams(high: 80, highHigh: 95, onDelay: .seconds(2)))
        let run = feed(&rule, [(0, 85), (2000, 85), (3000, 97), (4000, 85), (6000, 97), (8000, 98)])
        #expect(run.events == [
            raised(at: 2000, value: 85, severity: "high", previous: "normal", peak: 85, threshold: 80),
            raised(at: 8000, value: 98, severity: "high_high", previous: "high", peak: 98, threshold: 95),
        ])
    }

    @Test func offDelayHoldsTheAlarmUntilNormalHolds() {
        var rule = LimitRule(params: LimitParams(high: 80, offDelay: .seconds(5)))
        let run = feed(&rule, [
            (0, 85), (2000, 70), (4000, 90), (6000, 70), (10999, 70), (11000, 72), (12000, 60),
        ])
        #expect(run.events == [
            raised(at: 0, value: 85, severity: "high", previous: "normal", peak: 85, threshold: 80),
            cleared(at: 11000, value: 72, severity: "high", duration: 11, peak: 90, threshold: 80),
        ])
    }

    @Test func offDelayAppliesToDeEscalation() {
        var rule = LimitRule(params: LimitParams(high: 80, highHigh: 95, offDelay: .seconds(3)))
        let run = feed(&rule, [(0, 97), (1000, 85), (3999, 85), (4000, 85)])
        #expect(run.events == [
            raised(at: 0, value: 97, severity: "high_high", previous: "normal", peak: 97, threshold: 95),
            cleared(at: 4000, value: 85, severity: "high_high", remaining: "high", duration: 4, peak: 97, threshold: 95),
        ])
    }

    @Test func escalationDuringAnOffDelayStillWaitsForTheOnDelay() {
        var rule = LimitRule(params: LimitParams(
            high: 80, highHigh: 95, onDelay: .seconds(5), offDelay: .seconds(10)))
        let run = feed(&rule, [(0, 85), (5000, 85), (6000, 70), (12000, 97), (16999, 97), (17000, 97)])
        #expect(run.events == [
            raised(at: 5000, value: 85, severity: "high", previous: "normal", peak: 85, threshold: 80),
            raised(at: 17000, value: 97, severity: "high_high", previous: "high", peak: 97, threshold: 95),
        ])
    }

    @Test func sideChangeWhileOnDelayRunsRestartsTheDelay() {
        var rule = LimitRule(params: LimitParams(high: 80, low: 20, onDelay: .seconds(5)))
        let run = feed(&rule, [(0, 85), (4000, 10), (5000, 10), (8999, 10), (9000, 10)])
        #expect(run.events == [
            raised(at: 9000, value: 10, severity: "low", previous: "normal", peak: 10, threshold: 20),
        ])
    }

    // MARK: peak, duration, side changes

    @Test func clearCarriesPeakAndDuration() {
        var rule = LimitRule(params: LimitParams(high: 100))
        let run = feed(&rule, [(1500, 101), (2000, 130.5), (3000, 120), (4750, 99)])
        #expect(run.events.last == cleared(at: 4750, value: 99, severity: "high", duration: 3.25, peak: 130.5, threshold: 100))
        #expect(run.events.count == 2)
    }

    @Test func jumpFromHighStraightToLow() {
        var rule = LimitRule(params: LimitParams(high: 80, low: 20))
        let run = feed(&rule, [(0, 85), (1000, 90), (2000, 10), (5000, 5), (8000, 30)])
        #expect(run.events == [
            raised(at: 0, value: 85, severity: "high", previous: "normal", peak: 85, threshold: 80),
            // Two alarms: the high side clears, then the low side is raised (same instant: clear first).
            cleared(at: 2000, value: 10, severity: "high", duration: 2, peak: 90, threshold: 80),
            raised(at: 2000, value: 10, severity: "low", previous: "normal", peak: 10, threshold: 20),
            cleared(at: 8000, value: 30, severity: "low", duration: 6, peak: 5, threshold: 20),
        ])
    }

    @Test func jumpFromLowStraightToHighHigh() {
        var rule = LimitRule(params: LimitParams(high: 80, highHigh: 95, low: 20))
        let run = feed(&rule, [(0, 10), (1000, 99), (3000, 50)])
        #expect(run.events == [
            raised(at: 0, value: 10, severity: "low", previous: "normal", peak: 10, threshold: 20),
            cleared(at: 1000, value: 99, severity: "low", duration: 1, peak: 10, threshold: 20),
            // high and high_high both due at once: one event for the most severe.
            raised(at: 1000, value: 99, severity: "high_high", previous: "normal", peak: 99, threshold: 95),
            cleared(at: 3000, value: 50, severity: "high_high", duration: 2, peak: 99, threshold: 95),
        ])
    }

    @Test func aJumpToTheOtherSideClearsAtOnceAndRaisesOnlyAfterItsOwnDelay() {
        var rule = LimitRule(params: LimitParams(high: 80, low: 20, onDelay: .seconds(5)))
        let run = feed(&rule, [(0, 90), (5000, 90), (6000, 10), (7000, 85), (9000, 70)])
        // No off_delay: the high alarm ends at 6 s. The low side's on_delay never completes (85 at
        // 7 s interrupts it) and the return to 85 must wait its own on_delay again.
        #expect(run.events == [
            raised(at: 5000, value: 90, severity: "high", previous: "normal", peak: 90, threshold: 80),
            cleared(at: 6000, value: 10, severity: "high", duration: 1, peak: 90, threshold: 80),
        ])
    }

    @Test func peakStartsAfreshForTheNextExcursion() {
        var rule = LimitRule(params: LimitParams(high: 80))
        let run = feed(&rule, [(0, 99), (1000, 50), (2000, 81), (3000, 50)])
        #expect(run.events == [
            raised(at: 0, value: 99, severity: "high", previous: "normal", peak: 99, threshold: 80),
            cleared(at: 1000, value: 50, severity: "high", duration: 1, peak: 99, threshold: 80),
            raised(at: 2000, value: 81, severity: "high", previous: "normal", peak: 81, threshold: 80),
            cleared(at: 3000, value: 50, severity: "high", duration: 1, peak: 81, threshold: 80),
        ])
    }

    // MARK: input validation

    @Test func textIsRejectedAsWrongType() {
        var rule = LimitRule(params: LimitParams(high: 80))
        let run = feed(&rule, [(0, 85), (1000, "overload"), (2000, 70)])
        #expect(run.rejectionReasons == [.wrongType])
        #expect(run.rejections.first?.ms == 1000)
        #expect(run.rejections.first?.rejection.detail.contains("overload") == true)
        // The rejected sample neither clears nor disturbs the alarm.
        #expect(run.events == [
            raised(at: 0, value: 85, severity: "high", previous: "normal", peak: 85, threshold: 80),
            cleared(at: 2000, value: 70, severity: "high", duration: 2, peak: 85, threshold: 80),
        ])
    }

    @Test func booleansCountAsZeroAndOne() {
        var rule = LimitRule(params: LimitParams(high: 1))
        let run = feed(&rule, [(0, false), (1000, true), (2000, false)])
        #expect(run.rejections.isEmpty)
        #expect(run.events == [
            raised(at: 1000, value: 1, severity: "high", previous: "normal", peak: 1, threshold: 1),
            cleared(at: 2000, value: 0, severity: "high", duration: 1, peak: 1, threshold: 1),
        ])
    }

    // MARK: restart

    @Test func restartMidAlarmDoesNotRaiseAgainAndClearsWithFullDuration() throws {
        var rule = LimitRule(params: LimitParams(high: 80, hysteresis: 1))
        let before = feed(&rule, [(0, 70), (10000, 85), (20000, 92)])
        #expect(before.events == [
            raised(at: 10000, value: 85, severity: "high", previous: "normal", peak: 85, threshold: 80),
        ])

        var revived = try restarted(rule)
        #expect(revived == rule)
        let after = feed(&revived, [(30000, 88), (40000, 90), (50000, 79.5), (70000, 60)])
        #expect(after.events == [
            cleared(at: 70000, value: 60, severity: "high", duration: 60, peak: 92, threshold: 80),
        ])
    }

    @Test func restartWhileOnDelayRunsKeepsTheDelayStart() throws {
        var rule = LimitRule(params: LimitParams(high: 80, onDelay: .seconds(10)))
        #expect(feed(&rule, [(0, 85), (4000, 86)]).events.isEmpty)
        var revived = try restarted(rule)
        let after = feed(&revived, [(9999, 87), (10000, 84)])
        #expect(after.events == [
            raised(at: 10000, value: 84, severity: "high", previous: "normal", peak: 87, threshold: 80),
        ])
    }

    @Test func restartWhileOffDelayRunsKeepsTheDelayStart() throws {
        var rule = LimitRule(params: LimitParams(high: 80, offDelay: .seconds(10)))
        feed(&rule, [(0, 85), (5000, 70)])
        var revived = try restarted(rule)
        let after = feed(&revived, [(14999, 70), (15000, 70)])
        #expect(after.events == [
            cleared(at: 15000, value: 70, severity: "high", duration: 15, peak: 85, threshold: 80),
        ])
    }

    // MARK: issue 10: each level has its own timers (ISA-18.2)

    /// high is due 500 ms after 81 arrived, long before 90.5; high_high then waits its own delay.
    @Test func aMoreSevereLevelWaitsForItsOwnOnDelay() {
        var rule = LimitRule(params: LimitParams(high: 80, highHigh: 90, hysteresis: 0.5, onDelay: Millis(500)))
        let run = feed(&rule, [(9250, 81.0), (47350, 90.5)])
        #expect(run.events == [
            raised(at: 9750, value: 81, severity: "high", previous: "normal", peak: 81, threshold: 80),
        ])
        #expect(tick(&rule, at: 47850).isEmpty, "a delay completes once the clock is past it")
        #expect(tick(&rule, at: 47851) == [
            raised(at: 47850, value: 90.5, severity: "high_high", previous: "high", peak: 90.5, threshold: 90),
        ])
    }

    /// The alarm eases level by level, each after its own off_delay, and clears on the tick while
    /// the sensor is silent.
    @Test func anAlarmEasesLevelByLevelAndClearsOnTheTick() {
        var rule = LimitRule(params: LimitParams(low: 20, lowLow: 10, offDelay: Millis(500)))
        let run = feed(&rule, [(24600, 10.0), (26600, 11.5), (27450, 21.0)])
        #expect(run.events == [
            raised(at: 24600, value: 10, severity: "low_low", previous: "normal", peak: 10, threshold: 10),
            cleared(at: 27100, value: 11.5, severity: "low_low", remaining: "low", duration: 2.5, peak: 10, threshold: 10),
        ])
        #expect(tick(&rule, at: 27900).isEmpty)
        #expect(tick(&rule, at: 28000) == [
            cleared(at: 27950, value: 21, severity: "low", duration: 3.35, peak: 10, threshold: 20),
        ])
        #expect(rule.level == .normal)
    }

    /// With sensor time, the tick carries the sensor's clock forward by the edge's: a sensor 1 h
    /// behind still clears 500 ms after its last reading, not an hour later.
    @Test func theTickFollowsTheSensorClock() {
        var rule = LimitRule(params: LimitParams(high: 80, offDelay: Millis(500)))
        var events: [RuleEvent] = []
        _ = rule.observe(Sample(value: 90, time: ts(1000), timeSource: .sensor, receivedAt: ts(3_601_000)), into: &events)
        _ = rule.observe(Sample(value: 50, time: ts(2000), timeSource: .sensor, receivedAt: ts(3_602_000)), into: &events)
        rule.tick(now: ts(3_602_600), into: &events)
        #expect(events.map(\.type) == [.limitRaised, .limitCleared])
        #expect(events.last?.occurredAt == ts(2500) && events.last?.timeSource == .sensor)
    }
}
