import Foundation
import Testing
@testable import EdgeRules
import MillwrightCore

@Suite("SensorRules")
struct SensorRulesTests {
    private enum Step {
        case sample(Int64, Value)
        case tick(Int64)
    }

    private func run(_ rules: inout SensorRules, _ steps: some Collection<Step>) -> [RuleEvent] {
        var events: [RuleEvent] = []
        for step in steps {
            switch step {
            case .sample(let ms, let v): _ = rules.observe(sample(ms, v), into: &events)
            case .tick(let ms): rules.tick(now: ts(ms), into: &events)
            }
        }
        return events
    }

    private let limitSpec = RuleSpec.limit(LimitParams(high: 80, hysteresis: 1))

    // MARK: dispatch

    @Test func everyRuleSeesTheSampleInSpecOrder() {
        var rules = SensorRules(specs: [.deadband(DeadbandParams(absolute: 1)), limitSpec])
        let r = feed(&rules, [(0, 90)])
        #expect(r.events.map(\.kind) == [.deadband, .limit])
        #expect(r.types == [.valueReported, .limitRaised])
    }

    @Test func aSampleRejectedByOneRuleIsStillSeenByTheOthers() {
        var rules = SensorRules(specs: [limitSpec, .stale(StaleParams(after: .seconds(30)))])
        let r = feed(&rules, [(0, "offline")])
        #expect(r.rejectionReasons == [.wrongType])
        // The stale watchdog saw the message arrive.
        #expect(tick(&rules, at: 30000) == [
            expected(.stale, at: 30000, ["last_seen": iso(0), "after_s": 30], kind: .stale),
        ])
    }

    @Test func theFirstRejectionIsReported() {
        var rules = SensorRules(specs: [
            .state(StateParams(map: ["1": StateTarget(.running)])), limitSpec,
        ])
        let r = feed(&rules, [(0, "jammed")])
        #expect(r.rejectionReasons == [.unmappedState])
    }

    @Test func needsTickOnlyForWindowStaleAndCounter() {
        #expect(!SensorRules(specs: [limitSpec, .rate(RateParams(limit: 1, window: .seconds(5))),
                                     .deadband(DeadbandParams()), .state(StateParams(map: [:]))]).needsTick)
        #expect(SensorRules(specs: [limitSpec, .window(WindowParams(every: .seconds(60)))]).needsTick)
        #expect(SensorRules(specs: [.stale(StaleParams(after: .seconds(5)))]).needsTick)
        #expect(SensorRules(specs: [.counter(CounterParams())]).needsTick)
    }

    @Test func tickDrivesTheTickingRules() {
        var rules = SensorRules(specs: [
            limitSpec, .window(WindowParams(every: .seconds(60))), .counter(CounterParams(every: .seconds(60))),
        ])
        feed(&rules, [(0, 10), (30000, 20)])
        let events = tick(&rules, at: 62000)
        #expect(events.map(\.kind) == [.window, .counter])
        #expect(events.map(\.type) == [.summary, .count])
        #expect(events.last?.values["delta"] == 10)
    }

    // MARK: restart

    @Test func restartMidAlarmDoesNotRaiseAgainAndClearsWithTheRightDuration() throws {
        var rules = SensorRules(specs: [limitSpec])
        let before = feed(&rules, [(0, 70), (5000, 85), (10000, 95)])
        #expect(before.types == [.limitRaised])

        var revived = try restarted(rules)
        #expect(revived == rules)
        let after = feed(&revived, [(15000, 90), (20000, 82), (25000, 79.5), (35000, 60)])
        #expect(after.events == [
            expected(.limitCleared, at: 35000, [
                "value": 60, "severity": "high", "remaining": "normal", "duration_s": 30, "peak": 95, "threshold": 80,
            ], kind: .limit),
        ])
    }

    @Test func restartWithEveryKindOfRuleChangesNothing() throws {
        let specs: [RuleSpec] = [
            .limit(LimitParams(high: 80, low: 20, hysteresis: 2, onDelay: .seconds(2), offDelay: .seconds(3))),
            .rate(RateParams(limit: 5, window: .seconds(10))),
            .deadband(DeadbandParams(absolute: 3, heartbeat: .seconds(30))),
            .window(WindowParams(every: .seconds(30), grace: .seconds(1))),
            .stale(StaleParams(after: .seconds(20))),
            .counter(CounterParams(bits: 16, every: .seconds(30), quantity: 200, maxDelta: 100)),
        ]
        let steps: [Step] = [
            .sample(0, 50), .sample(5000, 60), .tick(6000), .sample(10000, 85), .sample(12000, 90),
            .tick(20000), .sample(21000, 88), .tick(32000), .sample(33000, 40), .tick(40000),
            .sample(45000, 15), .sample(48000, 12), .tick(70000), .tick(90000), .sample(95000, 30),
            .sample(96000, 35), .tick(130_000), .sample(131_000, 36),
        ]
        var straight = SensorRules(specs: specs)
        let reference = run(&straight, steps)
        #expect(reference.contains { $0.type == .limitRaised })
        #expect(reference.contains { $0.type == .limitCleared })
        #expect(reference.contains { $0.type == .stale })
        #expect(reference.contains { $0.type == .recovered })
        #expect(reference.contains { $0.type == .summary })
        #expect(reference.contains { $0.type == .count })

        for split in 0...steps.count {
            var rules = SensorRules(specs: specs)
            var events = run(&rules, steps.prefix(split))
            var revived = try restarted(rules)
            #expect(revived == rules, "state changed across the restart after step \(split)")
            events += run(&revived, steps.dropFirst(split))
            #expect(events == reference, "restart after step \(split)")
        }
    }

    @Test func restartKeepsCounterIntervalWithoutLossOrDouble() throws {
        var rules = SensorRules(specs: [.counter(CounterParams(every: .seconds(60)))])
        feed(&rules, [(0, 1000), (20000, 1040)])
        var revived = try restarted(rules)
        let r = feed(&revived, [(40000, 1070), (60000, 1100)])
        #expect(r.events == [
            expected(.count, at: 60000, [
                "delta": 100, "from": iso(0), "to": iso(60000), "raw": 1100,
            ], kind: .counter),
        ])
    }

    @Test func restartKeepsStaleState() throws {
        var rules = SensorRules(specs: [.stale(StaleParams(after: .seconds(10)))])
        feed(&rules, [(0, 1)])
        #expect(tick(&rules, at: 10000).map(\.type) == [.stale])
        var revived = try restarted(rules)
        #expect(tick(&revived, at: 20000).isEmpty)
        #expect(feed(&revived, [(25000, 2)]).events == [
            expected(.recovered, at: 25000, ["last_seen": iso(0), "silent_s": 25], kind: .stale),
        ])
    }

    // MARK: reconfiguration

    @Test func reconfiguredKeepsUnchangedRulesAndResetsChangedOnes() {
        var rules = SensorRules(specs: [
            limitSpec, .deadband(DeadbandParams(absolute: 1)), .counter(CounterParams()),
        ])
        let before = feed(&rules, [(0, 85)])
        #expect(before.types == [.limitRaised, .valueReported])

        var next = rules.reconfigured(to: [
            .stale(StaleParams(after: .seconds(30))), .deadband(DeadbandParams(absolute: 5)), limitSpec,
        ])
        #expect(next.rules.map(\.kind) == [.stale, .deadband, .limit])
        #expect(next.rules[2] == rules.rules[0])

        let after = feed(&next, [(10000, 86), (20000, 70)])
        // The changed deadband starts over with a "first" report. The unchanged limit is still
        // raised: no second raise, and the clear spans the whole alarm.
        #expect(after.events == [
            expected(.valueReported, at: 10000, ["value": 86, "reason": "first"], kind: .deadband),
            expected(.valueReported, at: 20000, ["value": 70, "reason": "deadband", "previous": 86], kind: .deadband),
            expected(.limitCleared, at: 20000, [
                "value": 70, "severity": "high", "remaining": "normal", "duration_s": 20, "peak": 86, "threshold": 80,
            ], kind: .limit),
        ])
        // The new stale rule starts watching from its first sample.
        #expect(tick(&next, at: 49999).isEmpty)
        #expect(tick(&next, at: 50000).map(\.type) == [.stale])
    }

    @Test func reconfiguredWithChangedLimitStartsTheAlarmOver() {
        var rules = SensorRules(specs: [limitSpec])
        feed(&rules, [(0, 85)])
        var next = rules.reconfigured(to: [.limit(LimitParams(high: 84, hysteresis: 1))])
        let after = feed(&next, [(10000, 85)])
        #expect(after.events == [
            expected(.limitRaised, at: 10000, [
                "value": 85, "severity": "high", "previous_severity": "normal", "peak": 85, "threshold": 84,
            ], kind: .limit),
        ])
    }

    @Test func reconfiguredToTheSameSpecsIsIdentity() {
        let specs: [RuleSpec] = [limitSpec, .counter(CounterParams(bits: 16)), .stale(StaleParams(after: .seconds(5)))]
        var rules = SensorRules(specs: specs)
        feed(&rules, [(0, 85), (1000, 90)])
        #expect(rules.reconfigured(to: specs) == rules)
        #expect(rules.reconfigured(to: []).rules.isEmpty)
    }
}
