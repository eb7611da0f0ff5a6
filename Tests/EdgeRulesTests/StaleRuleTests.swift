import Foundation
import Testing
@testable import EdgeRules
import MillwrightCore

@Suite("StaleRule")
struct StaleRuleTests {
    private let params = StaleParams(after: .seconds(30))

    private func stale(at ms: Int64, lastSeen: Int64) -> RuleEvent {
        expected(.stale, at: ms, ["last_seen": iso(lastSeen), "after_s": 30], kind: .stale)
    }

    private func recovered(at ms: Int64, lastSeen: Int64, silent: Double) -> RuleEvent {
        expected(.recovered, at: ms, ["last_seen": iso(lastSeen), "silent_s": .number(silent)], kind: .stale)
    }

    @Test func staleAfterSilenceOnTick() {
        var rule = StaleRule(params: params)
        #expect(feed(&rule, [(1000, 1)]).events.isEmpty)
        #expect(tick(&rule, at: 30999).isEmpty)
        #expect(tick(&rule, at: 31000) == [stale(at: 31000, lastSeen: 1000)])
        #expect(rule.isStale)
    }

    @Test func staleIsStampedAtLastSeenPlusAfterEvenWhenTheTickIsLate() {
        var rule = StaleRule(params: params)
        feed(&rule, [(1000, 1)])
        #expect(tick(&rule, at: 95000) == [stale(at: 31000, lastSeen: 1000)])
    }

    @Test func samplesKeepTheSensorFresh() {
        var rule = StaleRule(params: params)
        feed(&rule, [(0, 1), (20000, 2)])
        #expect(tick(&rule, at: 49999).isEmpty)
        feed(&rule, [(45000, 3)])
        #expect(tick(&rule, at: 74999).isEmpty)
        #expect(tick(&rule, at: 75000) == [stale(at: 75000, lastSeen: 45000)])
    }

    @Test func noRepeatedStaleEvents() {
        var rule = StaleRule(params: params)
        feed(&rule, [(0, 1)])
        #expect(tick(&rule, at: 30000).count == 1)
        #expect(tick(&rule, at: 40000).isEmpty)
        #expect(tick(&rule, at: 60000).isEmpty)
        #expect(tick(&rule, at: 3_600_000).isEmpty)
    }

    @Test func recoveredOnTheNextSample() {
        var rule = StaleRule(params: params)
        feed(&rule, [(1000, 1)])
        _ = tick(&rule, at: 40000)
        let run = feed(&rule, [(70000, 2), (71000, 3)])
        #expect(run.events == [recovered(at: 70000, lastSeen: 1000, silent: 69)])
        #expect(!rule.isStale)
    }

    @Test func staleThenRecoveredThenStaleAgain() {
        var rule = StaleRule(params: params)
        var events: [RuleEvent] = []
        events += feed(&rule, [(0, 1)]).events
        events += tick(&rule, at: 30000)
        events += feed(&rule, [(50000, 2)]).events
        events += tick(&rule, at: 79999)
        events += tick(&rule, at: 80000)
        events += tick(&rule, at: 90000)
        events += feed(&rule, [(100_500, 3)]).events
        #expect(events == [
            stale(at: 30000, lastSeen: 0),
            recovered(at: 50000, lastSeen: 0, silent: 50),
            stale(at: 80000, lastSeen: 50000),
            recovered(at: 100_500, lastSeen: 50000, silent: 50.5),
        ])
    }

    @Test func neverStaleBeforeTheFirstSample() {
        var rule = StaleRule(params: params)
        #expect(tick(&rule, at: 10_000_000).isEmpty)
        #expect(!rule.isStale)
    }

    @Test func watchesTheReceiveClockNotTheSensorClock() {
        var rule = StaleRule(params: params)
        var events: [RuleEvent] = []
        // The sensor's clock is an hour behind; what counts is when the edge received it.
        let s = Sample(value: 1, time: ts(0), timeSource: .sensor, receivedAt: ts(3_600_000))
        #expect(rule.observe(s, into: &events) == nil)
        rule.tick(now: ts(3_629_999), into: &events)
        #expect(events.isEmpty)
        rule.tick(now: ts(3_630_000), into: &events)
        #expect(events == [stale(at: 3_630_000, lastSeen: 3_600_000)])
    }

    @Test func acceptsAnyValueType() {
        var rule = StaleRule(params: params)
        let run = feed(&rule, [(0, "text"), (1000, true), (2000, 1.5)])
        #expect(run.rejections.isEmpty)
        #expect(run.events.isEmpty)
    }

    @Test func restartWhileFreshKeepsLastSeen() throws {
        var rule = StaleRule(params: params)
        feed(&rule, [(10000, 1)])
        var revived = try restarted(rule)
        #expect(revived == rule)
        #expect(tick(&revived, at: 39999).isEmpty)
        #expect(tick(&revived, at: 40000) == [stale(at: 40000, lastSeen: 10000)])
    }

    @Test func restartWhileStaleDoesNotRepeatTheStaleEvent() throws {
        var rule = StaleRule(params: params)
        feed(&rule, [(10000, 1)])
        #expect(tick(&rule, at: 40000).count == 1)
        var revived = try restarted(rule)
        #expect(revived.isStale)
        #expect(tick(&revived, at: 100_000).isEmpty)
        #expect(feed(&revived, [(120_000, 2)]).events == [recovered(at: 120_000, lastSeen: 10000, silent: 110)])
        #expect(tick(&revived, at: 149_999).isEmpty)
        #expect(tick(&revived, at: 150_000) == [stale(at: 150_000, lastSeen: 120_000)])
    }
}
