import Foundation
import MillwrightCore
import PropertyBased
import Testing
@testable import EdgeRules

/// rate, deadband, window, stale and state against their reference models (Reference/ReferenceRules)
/// on thousands of random streams each: parameters drawn per stream, readings (numbers, booleans,
/// text, state codes) at random steps, ticks in between, a sensor clock an hour behind in some
/// streams, and a restart at a random point.
@Suite struct OtherRulesModelTests {
    static let numbers: [Value] = [.number(0), .number(1), .number(9.5), .number(10), .number(10.5), .number(12),
                                   .number(20), .number(-5), .number(100), .bool(true), .text("x")]
    static let codes: [Value] = [.number(1), .number(2), .number(3), .number(4), .text("RUN"), .text("JAM"), .text("what")]

    static func compare<R: RuleEvaluator, M: ReferenceRule>(_ codes: [Int], values: [Value], make: (Int) -> (R, M)) -> String? {
        ModelHarness.compare(codes, tickEvery: 4, make: make, value: { values[$0 % values.count] })
    }

    static let streams = Gen.int(in: 0...1_000_000).array(of: 2...60)

    @Test func rate() async {
        await propertyCheck(count: 2000, input: Self.streams) { codes in
            let d = Self.compare(codes, values: Self.numbers) { n -> (RateRule, ReferenceRate) in
                let p = RateParams(limit: [0.5, 2, 10][n % 3], window: Millis([1000, 5000, 60_000][n / 3 % 3]))
                return (RateRule(params: p), ReferenceRate(p))
            }
            if let d { Issue.record("\(d)\nstream: \(codes)") }
        }
    }

    @Test func deadband() async {
        await propertyCheck(count: 2000, input: Self.streams) { codes in
            let d = Self.compare(codes, values: Self.numbers) { n -> (DeadbandRule, ReferenceDeadband) in
                let p = DeadbandParams(absolute: [nil, 0.5, 2][n % 3], percent: [nil, 10][n / 3 % 2],
                                       heartbeat: [nil, Millis(5000), Millis(10_000)][n / 6 % 3])
                return (DeadbandRule(params: p), ReferenceDeadband(p))
            }
            if let d { Issue.record("\(d)\nstream: \(codes)") }
        }
    }

    @Test func window() async {
        await propertyCheck(count: 2000, input: Self.streams) { codes in
            let d = Self.compare(codes, values: Self.numbers) { n -> (WindowRule, ReferenceWindow) in
                let p = WindowParams(every: Millis([1000, 10_000, 60_000][n % 3]),
                                     aggregates: n / 3 % 2 == 0 ? Aggregate.allCases : [.mean, .last], grace: Millis([0, 2000][n / 6 % 2]))
                return (WindowRule(params: p), ReferenceWindow(p))
            }
            if let d { Issue.record("\(d)\nstream: \(codes)") }
        }
    }

    @Test func stale() async {
        await propertyCheck(count: 2000, input: Self.streams) { codes in
            let d = Self.compare(codes, values: Self.numbers) { n -> (StaleRule, ReferenceStale) in
                let p = StaleParams(after: Millis([1000, 5000, 30_000][n % 3]))
                return (StaleRule(params: p), ReferenceStale(p))
            }
            if let d { Issue.record("\(d)\nstream: \(codes)") }
        }
    }

    @Test func state() async {
        await propertyCheck(count: 2000, input: Self.streams) { codes in
            let d = Self.compare(codes, values: Self.codes) { n -> (StateRule, ReferenceState) in
                let map: [String: StateTarget] = ["1": .init(.running), "2": .init(.idle), "3": .init(.down, reason: "jam"),
                                                  "4": .init(.down, reason: "tooling"), "RUN": .init(.running), "JAM": .init(.down, reason: "jam")]
                let p = StateParams(map: map, unmapped: n % 2 == 0 ? nil : .init(.down, reason: "unknown"),
                                    minDowntime: Millis([0, 5000][n / 2 % 2]))
                return (StateRule(params: p), ReferenceState(p))
            }
            if let d { Issue.record("\(d)\nstream: \(codes)") }
        }
    }
}
