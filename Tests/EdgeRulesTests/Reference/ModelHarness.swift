import Foundation
import MillwrightCore
@testable import EdgeRules

/// Drives one random stream through a rule and its reference model and returns the first
/// difference. The stream is numbers: the first builds both (parameters) and picks the clock (even:
/// receive time; odd: a sensor clock an hour behind), the second where to restart the rule (its
/// state saved and read back), each next one a step in time and then a tick (one in `tickEvery`) or
/// a reading whose value `value` picks; `accepted` hears each reading both took.
enum ModelHarness {
    static let steps: [Int64] = [0, 125, 250, 375, 500, 750, 1000, 2000, 5000, 9_999, 10_000, 30_000, 61_000]

    static func compare<R: RuleEvaluator, M: ReferenceRule>(
        _ codes: [Int], tickEvery: Int, make: (Int) -> (R, M), value: (Int) -> Value, accepted: (Value) -> Void = { _ in }
    ) -> String? {
        guard let first = codes.first else { return nil }
        var (rule, model) = make(first)
        let skew: Int64 = first % 2 == 0 ? 0 : 3_600_000
        let restartAt = codes.count > 2 ? codes[1] % codes.count : -1
        var received: Int64 = 10_000_000
        for (i, code) in codes.dropFirst().enumerated() {
            if i == restartAt {
                guard let data = try? JSONEncoder().encode(rule), let back = try? JSONDecoder().decode(R.self, from: data) else {
                    return "the state did not survive a restart"
                }
                rule = back
            }
            received += steps[code % steps.count]
            var actual: [RuleEvent] = [], wanted: [RuleEvent] = []
            let rest = code / steps.count
            if rest % tickEvery == tickEvery - 1 {
                rule.tick(now: ts(received), into: &actual)
                model.tick(now: ts(received), into: &wanted)
            } else {
                let v = value(rest / tickEvery)
                let s = Sample(value: v, time: ts(received - skew), timeSource: skew == 0 ? .receive : .sensor, receivedAt: ts(received))
                let a = rule.observe(s, into: &actual), w = model.observe(s, into: &wanted)
                if a?.reason != w?.reason { return "\(R.self) \(rule.params), step \(i): rejection \(String(describing: a)) vs \(String(describing: w))" }
                if a == nil { accepted(v) }
            }
            if actual != wanted { return "\(R.self) \(rule.params), step \(i) at \(received - skew): rule \(actual) vs model \(wanted)" }
        }
        return nil
    }
}
