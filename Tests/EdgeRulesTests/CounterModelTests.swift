import Foundation
import MillwrightCore
import PropertyBased
import Testing
@testable import EdgeRules

/// `CounterRule` against `ReferenceCounter` over thousands of random streams: widths, cadences,
/// quantities and spike guards drawn per stream; raw values that rise, stand still, wrap, reset,
/// spike and come back, plus fractional, negative and too-wide readings; ticks in between; a
/// sensor clock an hour behind in some streams; a restart at a random point.
@Suite struct CounterModelTests {

    static func params(_ n: Int) -> CounterParams {
        var n = n
        func pick(_ k: Int) -> Int { defer { n /= k }; return n % k }
        let bits = [16, 32, 64][pick(3)]
        let every = Millis([1_000, 10_000, 60_000][pick(3)])
        let quantity: Double? = [nil, 50, 1000][pick(3)]
        let maxDelta: Double? = [nil, 100, 5000][pick(3)]
        let pause: Millis? = [nil, Millis(0), Millis(2_000), Millis(30_000)][pick(4)]
        return CounterParams(bits: bits, every: every, quantity: quantity, maxDelta: maxDelta, pause: pause)
    }

    /// The next raw value for a step code, from the current one.
    static func next(_ raw: Double, _ code: Int, bits: Int) -> Double {
        let top = bits >= 64 ? 1e15 : pow(2, Double(bits))
        switch code % 13 {
        case 0: return raw
        case 1, 2, 3: return raw + Double([1, 7, 40][code % 3])
        case 4: return raw + 300
        case 5: return top - 3  // close to the top: a wrap follows
        case 6: return (raw + 20).truncatingRemainder(dividingBy: top)
        case 7: return 2  // a reset (or a short wrap from near the top)
        case 8: return raw + 100_000  // a spike
        case 9: return raw + 0.5  // not a whole number
        case 10: return bits == 16 ? 70_000 : bits == 32 ? 5e9 : 2e19  // too wide
        case 11: return 0  // a reset with nothing counted since
        default: return -1
        }
    }

    /// The raw value walks from the last one both accepted.
    final class Walk { var raw: Double = 1000 }

    static func compare(_ codes: [Int]) -> String? {
        let walk = Walk()
        let p = params(codes.first ?? 0)
        return ModelHarness.compare(codes, tickEvery: 6, make: { n in (CounterRule(params: params(n)), ReferenceCounter(params(n))) },
                                    value: { .number(next(walk.raw, $0, bits: p.bits)) },
                                    accepted: { if case .number(let n) = $0 { walk.raw = n } })
    }

    @Test func theRuleMatchesTheReferenceModelOnRandomStreams() async {
        let streams = Gen.int(in: 0...1_000_000).array(of: 2...80)
        await propertyCheck(count: 3000, input: streams) { codes in
            if let difference = Self.compare(codes) { Issue.record("\(difference)\nstream: \(codes)") }
        }
    }
}
