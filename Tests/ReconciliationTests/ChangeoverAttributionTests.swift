import EdgeRules
import MillwrightCore
import Testing
@testable import Reconciliation

/// The edge's counter rule and the central's attribution together, at a changeover: order A runs,
/// the press makes parts, stands still for set-up (5 to 30 s), the MES stops A and starts B
/// somewhere in that pause, and the press makes B's parts. Thousands of random changeovers (readings
/// 1 s apart, random parts per reading, `every` 10 s or 60 s, random stop and start times): every
/// part is credited to the order that ran when the reading that counted it was taken, give or take
/// the parts of one reading at each end (docs/SYNC.md, "Counts across a changeover"), and exactly
/// when B's start comes before the reading before B's first part.
@Suite struct ChangeoverAttributionTests {
    /// A small deterministic generator (SplitMix64), so a failing case is reproduced by its seed.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    struct Outcome {
        var creditedA = 0.0, creditedB = 0.0, unassigned = 0.0
        var madeA = 0.0, madeB = 0.0
        var maxPerReading = 0.0
        /// B started before the reading before its first part: nothing can be misattributed.
        var exactCase = false
        var counts: [(from: Timestamp, to: Timestamp, delta: Double)] = []
    }

    /// One random changeover through `CounterRule` and `Attribution`.
    static func changeover(seed: UInt64, pause: Millis? = nil) -> Outcome {
        var rng = SplitMix(state: seed)
        let every = Millis([10_000, 60_000][Int.random(in: 0...1, using: &rng)])
        var rule = CounterRule(params: CounterParams(bits: 16, every: every, pause: pause))
        var events: [RuleEvent] = []
        var out = Outcome()
        var raw = Double(Int.random(in: 0...65_000, using: &rng))
        let t0 = Int64(1_800_000_000_000) + Int64.random(in: 0...999, using: &rng)
        var t = t0
        func read(_ steps: Int) {
            raw = (raw + Double(steps)).truncatingRemainder(dividingBy: 65_536)
            t += 1000
            let time = Timestamp(milliseconds: t)
            _ = rule.observe(Sample(value: .number(raw), time: time, timeSource: .sensor, receivedAt: time), into: &events)
            rule.tick(now: time, into: &events)
        }
        _ = rule.observe(Sample(value: .number(raw), time: Timestamp(milliseconds: t), timeSource: .sensor,
                                receivedAt: Timestamp(milliseconds: t)), into: &events)
        // A's run: parts at random readings (short stops within it), ending on a part.
        let aReadings = Int.random(in: 3...120, using: &rng)
        for i in 0..<aReadings {
            let steps = i == aReadings - 1 ? Int.random(in: 1...3, using: &rng) : Int.random(in: 0...3, using: &rng)
            read(steps)
            out.madeA += Double(steps)
            out.maxPerReading = max(out.maxPerReading, Double(steps))
        }
        let lastA = t
        // The press stands still for set-up: 5 to 30 readings without a part.
        let idle = Int.random(in: 5...30, using: &rng)
        for _ in 0..<idle { read(0) }
        let firstB = t + 1000
        // The MES stop after A's last part, B's start after the stop and before B's first part.
        let stop = Int64.random(in: (lastA + 1)...(firstB - 2), using: &rng)
        let start = Int64.random(in: (stop + 1)...(firstB - 1), using: &rng)
        out.exactCase = start <= firstB - 1000
        let bReadings = Int.random(in: 1...120, using: &rng)
        for i in 0..<bReadings {
            let steps = i == 0 ? Int.random(in: 1...3, using: &rng) : Int.random(in: 0...3, using: &rng)
            read(steps)
            out.madeB += Double(steps)
            out.maxPerReading = max(out.maxPerReading, Double(steps))
        }
        // The sensor's clock runs on past the last grid point: every count is closed.
        rule.tick(now: Timestamp(milliseconds: t + every.value + 1000), into: &events)

        let a = Assignment(equipment: "press-1", orderID: 1, from: Timestamp(milliseconds: t0 - 60_000), to: Timestamp(milliseconds: stop), source: .mes)
        let b = Assignment(equipment: "press-1", orderID: 2, from: Timestamp(milliseconds: start), to: nil, source: .mes)
        for (i, e) in events.enumerated() where e.type == .count {
            guard case .number(let delta) = e.values["delta"], case .text(let f) = e.values["from"], case .text(let to) = e.values["to"],
                  let from = Timestamp(rfc3339: f), let until = Timestamp(rfc3339: to) else { continue }
            out.counts.append((from, until, delta))
            let o = Observation(key: EventKey(edge: "gw-1", bootEpoch: 1, seq: Int64(i + 1)), equipment: "press-1", kind: .yield,
                                quantity: delta, from: from, to: until)
            for share in Attribution.split(o, over: [a, b]) {
                switch share.assignment?.orderID {
                case 1: out.creditedA += share.quantity
                case 2: out.creditedB += share.quantity
                default: out.unassigned += share.quantity
                }
            }
        }
        return out
    }

    @Test func everyPartGoesToTheOrderThatRanWhenItWasCountedWithinOneReading() {
        var exact = 0
        for seed in UInt64(1)...3000 {
            let o = Self.changeover(seed: seed)
            // Nothing created or lost.
            #expect(o.creditedA + o.creditedB + o.unassigned == o.madeA + o.madeB, "seed \(seed)")
            // At most one reading's parts on the wrong side of each end.
            #expect(abs(o.creditedA - o.madeA) <= o.maxPerReading, "seed \(seed): A made \(o.madeA), credited \(o.creditedA); counts \(o.counts)")
            #expect(abs(o.creditedB - o.madeB) <= o.maxPerReading, "seed \(seed): B made \(o.madeB), credited \(o.creditedB); counts \(o.counts)")
            if o.exactCase {
                exact += 1
                #expect(o.creditedA == o.madeA && o.creditedB == o.madeB && o.unassigned == 0,
                        "seed \(seed): A \(o.creditedA)/\(o.madeA), B \(o.creditedB)/\(o.madeB), unassigned \(o.unassigned); counts \(o.counts)")
            }
        }
        #expect(exact > 1000, "cases where B started before the reading before its first part: \(exact)")
    }

    /// The same changeovers with the pause rule off, as counts ran before (idle time inside): the
    /// check above would fail; this is what the rule fixes.
    @Test func withoutThePauseRuleCountsSpanningTheChangeoverMisattribute() {
        var wrong = 0
        for seed in UInt64(1)...500 {
            let o = Self.changeover(seed: seed, pause: .zero)
            if abs(o.creditedA - o.madeA) > o.maxPerReading || abs(o.creditedB - o.madeB) > o.maxPerReading { wrong += 1 }
        }
        #expect(wrong > 50, "changeovers misattributed by more than one reading with pause off: \(wrong) of 500")
    }
}
