import Foundation
import Testing
@testable import EdgeRules
import MillwrightCore

@Suite("WindowRule")
struct WindowRuleTests {
    /// One-minute windows with the default 2 s grace.
    private let params = WindowParams(every: .seconds(60))

    private func summary(from start: Int64, to end: Int64, _ aggregates: [String: Value]) -> RuleEvent {
        var values = aggregates
        values["window_start"] = iso(start)
        values["window_end"] = iso(end)
        return expected(.summary, at: end, values, kind: .window)
    }

    @Test func aggregatesMinMaxMeanCountLast() {
        var rule = WindowRule(params: params)
        let run = feed(&rule, [(0, 10), (10000, 30), (20000, 20), (59999, 40), (60000, 5)])
        #expect(run.events == [
            summary(from: 0, to: 60000, ["min": 10, "max": 40, "mean": 25, "count": 4, "last": 40]),
        ])
    }

    @Test func onlyTheConfiguredAggregates() {
        var rule = WindowRule(params: WindowParams(every: .seconds(10), aggregates: [.max, .count]))
        let run = feed(&rule, [(0, 1), (5000, 3), (10000, 2)])
        #expect(run.events == [summary(from: 0, to: 10000, ["max": 3, "count": 2])])
    }

    @Test func windowsAreAlignedToMultiplesOfEvery() {
        var rule = WindowRule(params: params)
        let run = feed(&rule, [(75500, 7), (119_999, 9), (120_000, 1)])
        #expect(run.events == [
            summary(from: 60000, to: 120_000, ["min": 7, "max": 9, "mean": 8, "count": 2, "last": 9]),
        ])
        #expect(run.events.first?.values["window_start"] == "1970-01-01T00:01:00.000Z")
        #expect(run.events.first?.values["window_end"] == "1970-01-01T00:02:00.000Z")
    }

    @Test func alignmentAtARealisticEpoch() {
        var rule = WindowRule(params: WindowParams(every: .seconds(15 * 60)))
        let t0: Int64 = 1_800_000_000_000  // 2027-01-15T08:00:00Z
        let run = feed(&rule, [(t0 + 7 * 60_000 + 123, 1), (t0 + 15 * 60_000, 2)])
        #expect(run.events.count == 1)
        #expect(run.events.first?.occurredAt == ts(t0 + 15 * 60_000))
        #expect(run.events.first?.values["window_start"] == "2027-01-15T08:00:00.000Z")
        #expect(run.events.first?.values["window_end"] == "2027-01-15T08:15:00.000Z")
    }

    @Test func closesOnASampleOfTheNextWindow() {
        var rule = WindowRule(params: params)
        let run = feed(&rule, [(1000, 1), (61000, 2), (119_000, 4), (130_000, 8)])
        #expect(run.events == [
            summary(from: 0, to: 60000, ["min": 1, "max": 1, "mean": 1, "count": 1, "last": 1]),
            summary(from: 60000, to: 120_000, ["min": 2, "max": 4, "mean": 3, "count": 2, "last": 4]),
        ])
        // The sample that closed the window opened the next one.
        #expect(tick(&rule, at: 182_000) == [
            summary(from: 120_000, to: 180_000, ["min": 8, "max": 8, "mean": 8, "count": 1, "last": 8]),
        ])
    }

    @Test func closesOnTickOnlyAfterGrace() {
        var rule = WindowRule(params: params)
        feed(&rule, [(0, 2), (30000, 4)])
        #expect(tick(&rule, at: 60000).isEmpty)
        #expect(tick(&rule, at: 61999).isEmpty)
        #expect(tick(&rule, at: 62000) == [
            summary(from: 0, to: 60000, ["min": 2, "max": 4, "mean": 3, "count": 2, "last": 4]),
        ])
        // Closed once only.
        #expect(tick(&rule, at: 200_000).isEmpty)
        // The next sample opens its own aligned window.
        let run = feed(&rule, [(130_000, 6), (185_000, 7)])
        #expect(run.events == [
            summary(from: 120_000, to: 180_000, ["min": 6, "max": 6, "mean": 6, "count": 1, "last": 6]),
        ])
    }

    @Test func sampleInsideGraceStillCountsForTheOpenWindow() {
        var rule = WindowRule(params: WindowParams(every: .seconds(60), grace: .seconds(5)))
        var events: [RuleEvent] = []
        // Sensor time inside the window, received after the window's end but within grace.
        _ = rule.observe(Sample(value: 1, time: ts(10000), timeSource: .sensor, receivedAt: ts(10000)), into: &events)
        rule.tick(now: ts(62000), into: &events)
        _ = rule.observe(Sample(value: 3, time: ts(59000), timeSource: .sensor, receivedAt: ts(63000)), into: &events)
        // Grace runs on the sensor's clock carried forward from its last reading (59 s seen at 63 s):
        // at 65 s the sensor's clock is at 61 s, inside grace; at 69 s it reaches 65 s.
        rule.tick(now: ts(68999), into: &events)
        #expect(events.isEmpty)
        rule.tick(now: ts(69000), into: &events)
        #expect(events == [
            expected(.summary, at: 60000, [
                "window_start": iso(0), "window_end": iso(60000),
                "min": 1, "max": 3, "mean": 2, "count": 2, "last": 3,
            ], kind: .window, source: .sensor),
        ])
    }

    @Test func lateSamplesAreCounted() {
        var rule = WindowRule(params: params)
        // 59 s arrives after the window [0, 60 s) was closed by the sample at 61 s.
        let run = feed(&rule, [(10000, 5), (61000, 1), (59000, 100), (58000, 3), (70000, 2), (120_000, 0)])
        #expect(run.rejections.isEmpty)
        #expect(run.events == [
            summary(from: 0, to: 60000, ["min": 5, "max": 5, "mean": 5, "count": 1, "last": 5]),
            summary(from: 60000, to: 120_000, [
                "min": 1, "max": 100, "mean": 26.5, "count": 4, "last": 2, "late": 2,
            ]),
        ])
    }

    @Test func lateSampleAfterATickCloseDoesNotReopenTheClosedWindow() {
        var rule = WindowRule(params: params)
        feed(&rule, [(10000, 5)])
        #expect(tick(&rule, at: 62000) == [
            summary(from: 0, to: 60000, ["min": 5, "max": 5, "mean": 5, "count": 1, "last": 5]),
        ])
        // 59 s arrives after [0, 60 s) was closed: it is counted late in the next window, never
        // as a second summary for [0, 60 s).
        let run = feed(&rule, [(59000, 7), (65000, 9), (120_000, 0)])
        #expect(run.events == [
            summary(from: 60000, to: 120_000, ["min": 7, "max": 9, "mean": 8, "count": 2, "last": 9, "late": 1]),
        ])
    }

    @Test func noEventForAnEmptyWindow() {
        var rule = WindowRule(params: params)
        #expect(tick(&rule, at: 1_000_000).isEmpty)
        let run = feed(&rule, [(1000, 1), (200_000, 3)])
        // Windows [60 s, 120 s) and [120 s, 180 s) saw nothing: no summary for them.
        #expect(run.events == [
            summary(from: 0, to: 60000, ["min": 1, "max": 1, "mean": 1, "count": 1, "last": 1]),
        ])
        #expect(tick(&rule, at: 241_999).isEmpty)
        #expect(tick(&rule, at: 242_000) == [
            summary(from: 180_000, to: 240_000, ["min": 3, "max": 3, "mean": 3, "count": 1, "last": 3]),
        ])
        #expect(tick(&rule, at: 400_000).isEmpty)
    }

    @Test func textIsRejectedAsWrongType() {
        var rule = WindowRule(params: params)
        let run = feed(&rule, [(0, 4), (1000, "err"), (60000, 0)])
        #expect(run.rejectionReasons == [.wrongType])
        #expect(run.events == [
            summary(from: 0, to: 60000, ["min": 4, "max": 4, "mean": 4, "count": 1, "last": 4]),
        ])
    }

    @Test func freshAndClosedWindowsCanBePersisted() throws {
        // An empty window holds min = +inf and max = -inf internally; persisting must still work.
        var rule = WindowRule(params: params)
        #expect(try restarted(rule) == rule)
        feed(&rule, [(0, 1), (60000, 2)])
        #expect(tick(&rule, at: 122_000).count == 1)
        var revived = try restarted(rule)
        #expect(revived == rule)
        let run = feed(&revived, [(130_000, -5), (180_000, 0)])
        #expect(run.events == [
            summary(from: 120_000, to: 180_000, ["min": -5, "max": -5, "mean": -5, "count": 1, "last": -5]),
        ])
    }

    @Test func restartMidWindowKeepsTheAggregates() throws {
        var rule = WindowRule(params: params)
        #expect(feed(&rule, [(0, 10), (20000, 30)]).events.isEmpty)
        var revived = try restarted(rule)
        #expect(revived == rule)
        let run = feed(&revived, [(40000, 20), (60000, 0)])
        #expect(run.events == [
            summary(from: 0, to: 60000, ["min": 10, "max": 30, "mean": 20, "count": 3, "last": 20]),
        ])
    }
}
