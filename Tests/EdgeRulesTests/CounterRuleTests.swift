import Foundation
import Testing
@testable import EdgeRules
import MillwrightCore

@Suite("CounterRule")
struct CounterRuleTests {
    private func count(
        at ms: Int64, delta: Double, from: Int64, raw: Double,
        resets: Int = 0, rollovers: Int = 0, spikes: Int = 0
    ) -> RuleEvent {
        var values: [String: Value] = ["delta": .number(delta), "from": iso(from), "to": iso(ms), "raw": .number(raw)]
        if resets > 0 { values["resets"] = .number(Double(resets)) }
        if rollovers > 0 { values["rollovers"] = .number(Double(rollovers)) }
        if spikes > 0 { values["discarded_spikes"] = .number(Double(spikes)) }
        return expected(.count, at: ms, values, kind: .counter)
    }

    private func total(_ events: [RuleEvent]) -> Double {
        events.reduce(0) { $0 + ($1.values["delta"]?.number ?? 0) }
    }

    // MARK: deltas and cadence

    @Test func cumulativeReadingsBecomeDeltas() {
        var rule = CounterRule(params: CounterParams())
        let run = feed(&rule, [(0, 100), (10000, 105), (20000, 112), (60000, 120), (70000, 125), (120_000, 130)])
        #expect(run.events == [
            count(at: 60000, delta: 20, from: 0, raw: 120),
            count(at: 120_000, delta: 10, from: 60000, raw: 130),
        ])
        #expect(run.events.first?.values["from"] == "1970-01-01T00:00:00.000Z")
        #expect(run.events.first?.values["to"] == "1970-01-01T00:01:00.000Z")
    }

    @Test func firstReadingIsOnlyTheBaseline() {
        var rule = CounterRule(params: CounterParams(every: .seconds(1)))
        let run = feed(&rule, [(0, 5_000_000)])
        #expect(run.events.isEmpty)
        #expect(rule.lastRaw == 5_000_000)
        #expect(rule.pending == 0)
        #expect(tick(&rule, at: 100_000).isEmpty)
    }

    @Test func everyCadence() {
        var rule = CounterRule(params: CounterParams(every: .seconds(60)))
        let run = feed(&rule, [(0, 0), (30000, 5), (59999, 6), (60000, 7), (90000, 9), (119_999, 9), (120_000, 10)])
        #expect(run.events == [
            count(at: 60000, delta: 7, from: 0, raw: 7),
            // 119.999 s shows no step 30 s after the last one: the press stood still, so the count
            // closes at its last step (90 s), and the next starts at that idle reading.
            count(at: 90000, delta: 2, from: 60000, raw: 9),
            count(at: 120_000, delta: 1, from: 119_999, raw: 10),
        ])
    }

    @Test func quantityEmitsEarly() {
        var rule = CounterRule(params: CounterParams(every: .seconds(60), quantity: 10))
        let run = feed(&rule, [(0, 0), (1000, 4), (2000, 8), (3000, 12), (4000, 15)])
        #expect(run.events == [count(at: 3000, delta: 12, from: 0, raw: 12)])
        // The grid stays where it was: the rest is counted once the sensor clock is past 60 s.
        #expect(tick(&rule, at: 60000).isEmpty)
        #expect(tick(&rule, at: 60001) == [count(at: 4000, delta: 3, from: 3000, raw: 15)])
    }

    @Test func tickFlushesAfterEvery() {
        var rule = CounterRule(params: CounterParams(every: .seconds(60)))
        feed(&rule, [(0, 0), (10000, 5)])
        // Due once the sensor clock (carried forward by the edge's) is past the grid point.
        #expect(tick(&rule, at: 60000).isEmpty)
        // Stamped at the last reading, which is where the counted interval ends.
        #expect(tick(&rule, at: 60001) == [count(at: 10000, delta: 5, from: 0, raw: 5)])
        // Nothing pending: no empty count events; the grid moves on (next point 420 s).
        #expect(tick(&rule, at: 200_000).isEmpty)
        #expect(tick(&rule, at: 400_000).isEmpty)
        // A reading between grid points waits for the next one; the interval starts at 10 s.
        #expect(feed(&rule, [(300_000, 9)]).events.isEmpty)
        #expect(tick(&rule, at: 420_001) == [count(at: 300_000, delta: 4, from: 10000, raw: 9)])
    }

    // MARK: issue 21: idle time is in no count

    /// The README's changeover case: a part, the press stands still, then parts again. The second
    /// count runs from the last idle reading (17 s), not from the first count's end; the first
    /// closes at its last step once a reading shows 5 s without one.
    @Test func idleReadingsMoveTheStartAndAPauseEndsTheCount() {
        var rule = CounterRule(params: CounterParams(bits: 16, every: .seconds(10)))
        let readings: [(Int64, Value)] = [(0, 100), (1000, 101)] + (2...17).map { (Int64($0) * 1000, 101) } + [(18000, 103), (19000, 104)]
        let run = feed(&rule, readings)
        #expect(run.events == [count(at: 1000, delta: 1, from: 0, raw: 101)])
        #expect(tick(&rule, at: 20001) == [count(at: 19000, delta: 3, from: 17000, raw: 104)])
    }

    /// `pause: 0s` turns the pause off: the count spans the still stand, but still starts at the
    /// last reading before its first step and ends at its last step.
    @Test func withoutAPauseTheCountSpansTheStillStandButNotTheIdleEnds() {
        var rule = CounterRule(params: CounterParams(bits: 16, every: .seconds(60), pause: .zero))
        let readings: [(Int64, Value)] = [(0, 100), (1000, 100), (2000, 101)] + (3...17).map { (Int64($0) * 1000, 101) }
            + [(18000, 103), (19000, 104), (20000, 104), (30000, 104)]
        #expect(feed(&rule, readings).events.isEmpty)
        #expect(tick(&rule, at: 60001) == [count(at: 19000, delta: 4, from: 1000, raw: 104)])
    }

    /// A sensor that reports seldom: silence is not a pause, only a reading without a step is.
    @Test func silenceDoesNotCloseACount() {
        var rule = CounterRule(params: CounterParams(every: .seconds(60)))
        feed(&rule, [(0, 0), (20000, 5)])
        #expect(tick(&rule, at: 45000).isEmpty)
        #expect(feed(&rule, [(50000, 9)]).events.isEmpty)
        #expect(tick(&rule, at: 60001) == [count(at: 50000, delta: 9, from: 0, raw: 9)])
    }

    @Test func unchangedCounterEmitsNothing() {
        var rule = CounterRule(params: CounterParams(every: .seconds(10)))
        let run = feed(&rule, [(0, 42), (10000, 42), (20000, 42), (30000, 42)])
        #expect(run.events.isEmpty)
        #expect(tick(&rule, at: 100_000).isEmpty)
    }

    // MARK: rollover and reset

    @Test func wrapsAt16Bits() {
        var rule = CounterRule(params: CounterParams(bits: 16))
        let run = feed(&rule, [(0, 65530), (1000, 5), (60000, 9)])
        #expect(run.events == [count(at: 60000, delta: 15, from: 0, raw: 9, rollovers: 1)])
    }

    @Test func wrapDeltaIsExact() {
        var rule = CounterRule(params: CounterParams(bits: 16))
        feed(&rule, [(0, 65530), (1000, 5)])
        #expect(rule.pending == 11)
    }

    @Test func wrapsAt32Bits() {
        var rule = CounterRule(params: CounterParams(bits: 32))
        let run = feed(&rule, [(0, 4_294_967_290), (1000, 10), (60000, 10)])
        #expect(run.events == [count(at: 1000, delta: 16, from: 0, raw: 10, rollovers: 1)])
    }

    @Test func resetAfterPLCReboot() {
        var rule = CounterRule(params: CounterParams(bits: 16))
        let run = feed(&rule, [(0, 40000), (1000, 3), (60000, 3)])
        // 40000 -> 3 would be a 25539-part wrap: more than a quarter of the range, so a reset.
        #expect(run.events == [count(at: 1000, delta: 3, from: 0, raw: 3, resets: 1)])
    }

    @Test func resetOn32BitCounter() {
        var rule = CounterRule(params: CounterParams(bits: 32))
        let run = feed(&rule, [(0, 40000), (1000, 3), (60000, 8)])
        #expect(run.events == [count(at: 60000, delta: 8, from: 0, raw: 8, resets: 1)])
    }

    @Test func sixtyFourBitCounterNeverWraps() {
        var rule = CounterRule(params: CounterParams(bits: 64))
        let run = feed(&rule, [(0, 1e18), (1000, 7), (60000, 7)])
        #expect(run.events == [count(at: 1000, delta: 7, from: 0, raw: 7, resets: 1)])
    }

    @Test func neverANegativeDelta() {
        var rule = CounterRule(params: CounterParams(bits: 16, every: .seconds(1)))
        let run = feed(&rule, [
            (0, 100), (1000, 50), (2000, 20), (3000, 20), (4000, 65535), (5000, 0), (6000, 30000), (7000, 1),
        ])
        #expect(run.events.allSatisfy { ($0.values["delta"]?.number ?? -1) >= 0 })
        #expect(run.events == [
            count(at: 1000, delta: 50, from: 0, raw: 50, resets: 1),
            count(at: 2000, delta: 20, from: 1000, raw: 20, resets: 1),
            count(at: 4000, delta: 65515, from: 3000, raw: 65535),
            count(at: 5000, delta: 1, from: 4000, raw: 0, rollovers: 1),
            count(at: 6000, delta: 30000, from: 5000, raw: 30000),
            count(at: 7000, delta: 1, from: 6000, raw: 1, resets: 1),
        ])
    }

    @Test func wrapAndResetInsideOneIntervalGiveTheCorrectTotal() {
        var rule = CounterRule(params: CounterParams(bits: 16, every: .seconds(60)))
        let run = feed(&rule, [
            (0, 65530), (10000, 65535), (20000, 3), (30000, 10), (40000, 2), (50000, 5), (60000, 5),
        ])
        // +5, +4 (wrap), +7, +2 (reset: counted from zero), +3, +0.
        #expect(run.events == [count(at: 50000, delta: 21, from: 0, raw: 5, resets: 1, rollovers: 1)])
    }

    // MARK: spikes

    @Test func spikeGuardDiscardsTheSpike() {
        var rule = CounterRule(params: CounterParams(every: .seconds(60), maxDelta: 1000))
        let run = feed(&rule, [(0, 100), (1000, 105), (2000, 900_000), (3000, 110), (4000, 120), (60000, 120)])
        // The glitch and the return from it are not parts: 5 + 5 + 10.
        #expect(run.events == [count(at: 4000, delta: 20, from: 0, raw: 120, spikes: 1)])
    }

    @Test func spikeGuardAcceptsAJumpThatPersists() {
        var rule = CounterRule(params: CounterParams(every: .seconds(60), maxDelta: 1000))
        let run = feed(&rule, [(0, 100), (1000, 900_000), (2000, 900_010), (60000, 900_015)])
        // The jump is discarded; counting resumes from the new level.
        #expect(run.events == [count(at: 60000, delta: 15, from: 0, raw: 900_015, spikes: 1)])
    }

    @Test func spikeAloneIsReportedWithAZeroDelta() {
        var rule = CounterRule(params: CounterParams(every: .seconds(60), maxDelta: 50))
        feed(&rule, [(0, 100), (1000, 5000)])
        #expect(tick(&rule, at: 60001) == [count(at: 1000, delta: 0, from: 0, raw: 5000, spikes: 1)])
    }

    @Test func glitchToZeroAndBackIsNotCountedTwice() {
        var rule = CounterRule(params: CounterParams(every: .seconds(60), maxDelta: 50))
        let run = feed(&rule, [(0, 1000), (1000, 1010), (2000, 0), (3000, 1015), (4000, 1020), (60000, 1020)])
        // +10; 1010 -> 0 looks like a reboot (0 parts since); 0 -> 1015 is a spike; 1015 -> 1020 is +5.
        #expect(run.events == [count(at: 4000, delta: 15, from: 0, raw: 1020, resets: 1, spikes: 1)])
    }

    @Test func rolloverLargerThanMaxDeltaIsAReset() {
        var rule = CounterRule(params: CounterParams(bits: 16, maxDelta: 10))
        let run = feed(&rule, [(0, 65530), (1000, 5), (2000, 7), (60000, 7)])
        // 11 parts across the wrap exceed maxDelta: treated as a reset, 5 counted.
        #expect(run.events == [count(at: 2000, delta: 7, from: 0, raw: 7, resets: 1)])
    }

    // MARK: validation

    @Test func outOfOrderIsRejected() {
        var rule = CounterRule(params: CounterParams(every: .seconds(60)))
        let run = feed(&rule, [(0, 0), (10000, 5), (5000, 7), (20000, 8), (60000, 8)])
        #expect(run.rejectionReasons == [.outOfOrder])
        #expect(run.rejections.first?.ms == 5000)
        #expect(run.events == [count(at: 20000, delta: 8, from: 0, raw: 8)])
    }

    @Test func negativeRawIsRejected() {
        var rule = CounterRule(params: CounterParams(every: .seconds(60)))
        let run = feed(&rule, [(0, 10), (10000, -3), (20000, 12), (60000, 12)])
        #expect(run.rejectionReasons == [.negativeCounter])
        #expect(run.events == [count(at: 20000, delta: 2, from: 0, raw: 12)])
    }

    @Test func negativeFirstReadingIsRejected() {
        var rule = CounterRule(params: CounterParams())
        let run = feed(&rule, [(0, -1)])
        #expect(run.rejectionReasons == [.negativeCounter])
        #expect(rule.lastRaw == nil)
    }

    @Test func textIsRejectedAsWrongType() {
        var rule = CounterRule(params: CounterParams())
        let run = feed(&rule, [(0, 10), (1000, "12 parts"), (60000, 12)])
        #expect(run.rejectionReasons == [.wrongType])
        #expect(run.events == [count(at: 60000, delta: 2, from: 0, raw: 12)])
    }

    // MARK: restart

    private let restartSamples: [(Int64, Value)] = [
        (0, 65000), (10000, 65500), (20000, 100), (30000, 200), (40000, 50), (50000, 80),
        (60000, 90), (70000, 95), (80000, 150), (120_000, 160),
    ]

    @Test(arguments: 1...9)
    func restartMidIntervalLosesAndDoublesNothing(after split: Int) throws {
        let params = CounterParams(bits: 16, every: .seconds(60))
        var straight = CounterRule(params: params)
        let reference = feed(&straight, restartSamples).events

        var rule = CounterRule(params: params)
        var events = feed(&rule, Array(restartSamples.prefix(split))).events
        var revived = try restarted(rule)
        #expect(revived == rule)
        events += feed(&revived, Array(restartSamples.dropFirst(split))).events

        #expect(events == reference)
        #expect(reference == [
            count(at: 60000, delta: 826, from: 0, raw: 90, resets: 1, rollovers: 1),
            count(at: 120_000, delta: 70, from: 60000, raw: 160),
        ])
        #expect(total(events) == 896)
    }

    @Test func restartKeepsPendingSpikesAndCountersOfTheInterval() throws {
        var rule = CounterRule(params: CounterParams(bits: 16, every: .seconds(60), maxDelta: 10000))
        feed(&rule, [(0, 65530), (1000, 4), (2000, 50000)])
        var revived = try restarted(rule)
        #expect(revived == rule)
        #expect(revived.pending == 10)
        let run = feed(&revived, [(3000, 10), (60000, 12)])
        // +10 (wrap), spike discarded, +6 back from the spike's baseline, +2.
        #expect(run.events == [count(at: 60000, delta: 18, from: 0, raw: 12, rollovers: 1, spikes: 1)])
    }

    // MARK: issue 10: cadence, resets, input range

    /// `every` is a cadence: one count per 60 s with a reading every 30 s (the next count was due
    /// `every` after the previous count's last reading, which gave one every 30 s with ticks).
    @Test func aReadingEveryThirtySecondsGivesOneCountPerMinute() {
        var rule = CounterRule(params: CounterParams(bits: 16))
        var events: [RuleEvent] = []
        for k in Int64(0)...10 {
            _ = rule.observe(sample(k * 30_000, .number(Double(k * 10))), into: &events)
            rule.tick(now: ts(k * 30_000 + 29_000), into: &events)
        }
        #expect(events.map(\.occurredAt.milliseconds) == [60_000, 120_000, 180_000, 240_000, 300_000])
        #expect(events.allSatisfy { $0.values["delta"] == 20 })
    }

    /// A PLC reboot is reported even when nothing was counted in the window it happened in.
    @Test func aResetIsReportedEvenWithANothingCounted() {
        var rule = CounterRule(params: CounterParams(bits: 16, every: .seconds(10)))
        let run = feed(&rule, [(0, 100), (10000, 0), (13000, 3)])
        #expect(run.events == [count(at: 10000, delta: 0, from: 0, raw: 0, resets: 1)])
        #expect(tick(&rule, at: 20001) == [count(at: 13000, delta: 3, from: 10000, raw: 3)])
    }

    @Test func readingsOutsideTheWidthOrNotWholeAreRefusedAsOutOfRange() {
        var rule = CounterRule(params: CounterParams(bits: 16, every: .seconds(10)))
        let run = feed(&rule, [(0, 100), (1000, 70000), (2000, 150.5), (3000, 65536), (10000, 200)])
        #expect(run.rejectionReasons == [.outOfRange, .outOfRange, .outOfRange])
        #expect(run.events == [count(at: 10000, delta: 100, from: 0, raw: 200)])
        var wide = CounterRule(params: CounterParams(bits: 64))
        #expect(feed(&wide, [(0, 1e19), (1000, 2e19)]).rejectionReasons == [.outOfRange])
    }
}
