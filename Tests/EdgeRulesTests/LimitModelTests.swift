import Foundation
import MillwrightCore
import PropertyBased
import Testing
@testable import EdgeRules

/// `LimitRule` against `ReferenceLimit` (the README's semantics, written independently) over
/// thousands of random streams: thresholds, hysteresis and delays drawn per stream, readings at
/// and around every threshold at times that hit delay boundaries exactly, ticks in between, a
/// sensor clock an hour behind in some streams, and a restart (state saved and read back) at a
/// random point. Every event must match field for field.
@Suite struct LimitModelTests {
    static let values: [Double] = [5, 9.5, 10, 10.5, 11, 15, 19.5, 20, 20.5, 22, 50, 77.9, 78, 79.5, 80, 80.5, 88, 89.5, 90, 90.5, 95]
    static let delays: [Int64] = [0, 250, 500, 1000]

    /// Decodes one stream from numbers: the first picks the parameters, each next one a reading or a tick.
    static func params(_ n: Int) -> LimitParams {
        var n = n
        func pick(_ k: Int) -> Int { defer { n /= k }; return n % k }
        let shape = pick(15) + 1  // bits: high, high_high, low, low_low; at least one
        let h = [0, 0.5, 2][pick(3)]
        let on = delays[pick(4)], off = delays[pick(4)]
        return LimitParams(high: shape & 1 != 0 ? 80 : nil, highHigh: shape & 2 != 0 ? 90 : nil,
                           low: shape & 4 != 0 ? 20 : nil, lowLow: shape & 8 != 0 ? 10 : nil,
                           hysteresis: h, onDelay: Millis(on), offDelay: Millis(off))
    }

    static func compare(_ codes: [Int]) -> String? {
        ModelHarness.compare(codes, tickEvery: 5, make: { n in (LimitRule(params: params(n)), ReferenceLimit(params(n))) },
                             value: { .number(values[$0 % values.count]) })
    }

    @Test func theRuleMatchesTheReferenceModelOnRandomStreams() async {
        let streams = Gen.int(in: 0...1_000_000).array(of: 2...60)
        await propertyCheck(count: 3000, input: streams) { codes in
            if let difference = Self.compare(codes) { Issue.record("\(difference)\nstream: \(codes)") }
        }
    }
}
