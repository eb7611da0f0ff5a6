import Foundation
import Testing
@testable import EdgeRules
import MillwrightCore

@Suite("StateRule")
struct StateRuleTests {
    /// A PLC's numeric machine-state codes.
    private let codes = StateParams(map: [
        "1": StateTarget(.running),
        "2": StateTarget(.idle),
        "3": StateTarget(.down, reason: "fault"),
        "4": StateTarget(.down, reason: "no_material"),
    ])

    private func changed(
        at ms: Int64, _ state: String, from previous: String, code: Value, reason: String? = nil, previousDuration: Double? = nil
    ) -> RuleEvent {
        var values: [String: Value] = ["state": .text(state), "previous_state": .text(previous), "code": code]
        if let reason { values["reason"] = .text(reason) }
        if let previousDuration { values["previous_duration_s"] = .number(previousDuration) }
        return expected(.stateChanged, at: ms, values, kind: .state)
    }

    private func downtime(from start: Int64, to end: Int64, next: String, reason: String?) -> RuleEvent {
        var values: [String: Value] = [
            "started_at": iso(start), "ended_at": iso(end),
            "duration_s": .number(Double(end - start) / 1000), "next_state": .text(next),
        ]
        if let reason { values["reason"] = .text(reason) }
        return expected(.downtime, at: end, values, kind: .state)
    }

    @Test func numericCodesMapToRunningIdleDown() {
        var rule = StateRule(params: codes)
        let run = feed(&rule, [(0, 1), (10000, 1), (20000, 2), (25000, 2), (30000, 3)])
        #expect(run.rejections.isEmpty)
        #expect(run.events == [
            changed(at: 0, "running", from: "unknown", code: 1),
            changed(at: 20000, "idle", from: "running", code: 2, previousDuration: 20),
            changed(at: 30000, "down", from: "idle", code: 3, reason: "fault", previousDuration: 10),
        ])
        #expect(rule.current == .down)
    }

    @Test func fractionalCodeIsNotAnIntegerCode() {
        var rule = StateRule(params: codes)
        let run = feed(&rule, [(0, 1.0), (1000, 1.5)])
        #expect(run.events == [changed(at: 0, "running", from: "unknown", code: 1)])
        #expect(run.rejectionReasons == [.unmappedState])
    }

    @Test func textStatesMatchCaseInsensitively() {
        var rule = StateRule(params: StateParams(map: [
            "Running": StateTarget(.running),
            "IDLE": StateTarget(.idle),
            "E-Stop": StateTarget(.down, reason: "estop"),
        ]))
        let run = feed(&rule, [(0, "Running"), (1000, "running"), (2000, "idle"), (3000, "e-stop"), (4000, "RUNNING")])
        #expect(run.rejections.isEmpty)
        #expect(run.events == [
            changed(at: 0, "running", from: "unknown", code: "Running"),
            changed(at: 2000, "idle", from: "running", code: "idle", previousDuration: 2),
            changed(at: 3000, "down", from: "idle", code: "e-stop", reason: "estop", previousDuration: 1),
            changed(at: 4000, "running", from: "down", code: "RUNNING", previousDuration: 1),
            downtime(from: 3000, to: 4000, next: "running", reason: "estop"),
        ])
    }

    @Test func exactKeyWinsOverCaseInsensitiveMatch() {
        var rule = StateRule(params: StateParams(map: [
            "run": StateTarget(.running),
            "RUN": StateTarget(.down, reason: "maintenance_mode"),
        ]))
        let run = feed(&rule, [(0, "RUN")])
        #expect(run.events == [changed(at: 0, "down", from: "unknown", code: "RUN", reason: "maintenance_mode")])
    }

    @Test func booleanStates() {
        var rule = StateRule(params: StateParams(map: ["true": StateTarget(.running), "false": StateTarget(.idle)]))
        let run = feed(&rule, [(0, true), (5000, false)])
        #expect(run.events == [
            changed(at: 0, "running", from: "unknown", code: true),
            changed(at: 5000, "idle", from: "running", code: false, previousDuration: 5),
        ])
    }

    @Test func leavingDownEmitsDowntimeWithDurationAndReason() {
        var rule = StateRule(params: codes)
        let run = feed(&rule, [(0, 1), (10000, 3), (40000, 3), (70000, 1)])
        #expect(run.events == [
            changed(at: 0, "running", from: "unknown", code: 1),
            changed(at: 10000, "down", from: "running", code: 3, reason: "fault", previousDuration: 10),
            changed(at: 70000, "running", from: "down", code: 1, previousDuration: 60),
            downtime(from: 10000, to: 70000, next: "running", reason: "fault"),
        ])
    }

    @Test func downToIdleIsDowntimeToo() {
        var rule = StateRule(params: codes)
        let run = feed(&rule, [(0, 4), (90500, 2)])
        #expect(run.events == [
            changed(at: 0, "down", from: "unknown", code: 4, reason: "no_material"),
            changed(at: 90500, "idle", from: "down", code: 2, previousDuration: 90.5),
            downtime(from: 0, to: 90500, next: "idle", reason: "no_material"),
        ])
    }

    @Test func downWithoutReasonHasNoReasonField() {
        var rule = StateRule(params: StateParams(map: ["0": StateTarget(.down), "1": StateTarget(.running)]))
        let run = feed(&rule, [(0, 0), (5000, 1)])
        #expect(run.events.last == downtime(from: 0, to: 5000, next: "running", reason: nil))
    }

    @Test func minDowntimeSuppressesShortDowntime() {
        var rule = StateRule(params: StateParams(map: codes.map, minDowntime: .seconds(30)))
        let run = feed(&rule, [(0, 1), (10000, 3), (39999, 1), (50000, 3), (80000, 1)])
        #expect(run.events == [
            changed(at: 0, "running", from: "unknown", code: 1),
            changed(at: 10000, "down", from: "running", code: 3, reason: "fault", previousDuration: 10),
            // 29.999 s down: the state changes are reported, the downtime is not.
            changed(at: 39999, "running", from: "down", code: 1, previousDuration: 29.999),
            changed(at: 50000, "down", from: "running", code: 3, reason: "fault", previousDuration: 10.001),
            changed(at: 80000, "running", from: "down", code: 1, previousDuration: 30),
            downtime(from: 50000, to: 80000, next: "running", reason: "fault"),
        ])
    }

    @Test func downReasonChangeKeepsThePeriod() {
        var rule = StateRule(params: codes)
        let run = feed(&rule, [(0, 1), (10000, 3), (40000, 4), (50000, 4), (60000, 4), (100_000, 1)])
        #expect(run.events == [
            changed(at: 0, "running", from: "unknown", code: 1),
            changed(at: 10000, "down", from: "running", code: 3, reason: "fault", previousDuration: 10),
            // Reported once; the period and its first reason stand.
            changed(at: 40000, "down", from: "down", code: 4, reason: "no_material", previousDuration: 30),
            changed(at: 100_000, "running", from: "down", code: 1, previousDuration: 90),
            downtime(from: 10000, to: 100_000, next: "running", reason: "fault"),
        ])
    }

    @Test func downReasonChangingBackIsReportedAgain() {
        var rule = StateRule(params: codes)
        let run = feed(&rule, [(0, 3), (10000, 4), (20000, 3), (30000, 3)])
        #expect(run.events == [
            changed(at: 0, "down", from: "unknown", code: 3, reason: "fault"),
            changed(at: 10000, "down", from: "down", code: 4, reason: "no_material", previousDuration: 10),
            changed(at: 20000, "down", from: "down", code: 3, reason: "fault", previousDuration: 20),
        ])
    }

    @Test func unmappedCodeIsRejected() {
        var rule = StateRule(params: codes)
        let run = feed(&rule, [(0, 1), (1000, 9), (2000, "banana"), (3000, 2)])
        #expect(run.rejectionReasons == [.unmappedState, .unmappedState])
        #expect(run.rejections.map(\.ms) == [1000, 2000])
        #expect(run.events == [
            changed(at: 0, "running", from: "unknown", code: 1),
            changed(at: 3000, "idle", from: "running", code: 2, previousDuration: 3),
        ])
    }

    @Test func unmappedCodeMapsViaUnmapped() {
        var rule = StateRule(params: StateParams(map: codes.map, unmapped: StateTarget(.down, reason: "unknown_code")))
        let run = feed(&rule, [(0, 1), (1000, 9), (4000, 1)])
        #expect(run.rejections.isEmpty)
        #expect(run.events == [
            changed(at: 0, "running", from: "unknown", code: 1),
            changed(at: 1000, "down", from: "running", code: 9, reason: "unknown_code", previousDuration: 1),
            changed(at: 4000, "running", from: "down", code: 1, previousDuration: 3),
            downtime(from: 1000, to: 4000, next: "running", reason: "unknown_code"),
        ])
    }

    @Test func outOfOrderIsRejected() {
        var rule = StateRule(params: codes)
        let run = feed(&rule, [(0, 1), (10000, 2), (5000, 3), (20000, 1)])
        #expect(run.rejectionReasons == [.outOfOrder])
        #expect(run.events == [
            changed(at: 0, "running", from: "unknown", code: 1),
            changed(at: 10000, "idle", from: "running", code: 2, previousDuration: 10),
            changed(at: 20000, "running", from: "idle", code: 1, previousDuration: 10),
        ])
    }

    @Test func restartMidDowntimeKeepsThePeriod() throws {
        var rule = StateRule(params: codes)
        feed(&rule, [(0, 1), (10000, 3), (20000, 4)])
        var revived = try restarted(rule)
        #expect(revived == rule)
        let run = feed(&revived, [(30000, 4), (70000, 2)])
        #expect(run.events == [
            changed(at: 70000, "idle", from: "down", code: 2, previousDuration: 60),
            downtime(from: 10000, to: 70000, next: "idle", reason: "fault"),
        ])
    }
}
