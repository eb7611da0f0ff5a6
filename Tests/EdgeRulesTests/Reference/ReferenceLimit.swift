import MillwrightCore
@testable import EdgeRules

/// The limit rule exactly as edge/README.md describes it, written to be read rather than to be
/// fast, and independent of `LimitRule` (it shares only the envelope types: `Sample`, `RuleEvent`,
/// `Value`, `Timestamp`). The property tests run random streams through both and compare events.
///
/// The model: four alarms (high, high_high, low, low_low), each its own ISA-18.2 alarm. An
/// inactive alarm whose value is at or beyond its threshold runs its on-delay; an active one whose
/// value is strictly back past threshold ∓ hysteresis runs its off-delay; any other reading stops the
/// timer. A value holds until the next reading. Timers that ran out strictly before a reading fire
/// first (on the held value, at the time they ran out); then the reading updates the timers, and any
/// that ran out at or before the reading's time fire at that time. A tick fires timers that ran out
/// strictly before the sensor clock carried forward by the receive clock. Per side, the events of
/// one instant are: one `limit_cleared` if the side's top active level went down, one
/// `limit_raised` if it went up; clears (high side, then low side) before raises.
struct ReferenceLimit: ReferenceRule {
    struct Alarm {
        let high: Bool
        let severity: Int
        let threshold: Double
        var active = false
        var timer: Timestamp?
        var raisedAt: Timestamp?
    }

    let onDelay: Int64
    let offDelay: Int64
    let hysteresis: Double
    var alarms: [Alarm] = []
    var held: (value: Double, time: Timestamp, received: Timestamp, source: TimeSource)?
    var excursionStart: [Bool: Timestamp] = [:]
    var peak: [Bool: Double] = [:]

    init(_ p: LimitParams) {
        onDelay = p.onDelay.value
        offDelay = p.offDelay.value
        hysteresis = p.hysteresis
        let all: [(Bool, Int, Double?)] = [(true, 1, p.high), (true, 2, p.highHigh), (false, 1, p.low), (false, 2, p.lowLow)]
        alarms = all.compactMap { h, s, t in t.map { Alarm(high: h, severity: s, threshold: $0) } }
    }

    static func name(_ high: Bool, _ severity: Int) -> String {
        severity == 0 ? "normal" : high ? (severity == 1 ? "high" : "high_high") : (severity == 1 ? "low" : "low_low")
    }

    func ranOut(_ a: Alarm) -> Timestamp? {
        a.timer.map { Timestamp(milliseconds: $0.milliseconds + (a.active ? offDelay : onDelay)) }
    }

    /// The most severe active level of a side; an active level whose threshold is not set cannot exist.
    func top(_ high: Bool) -> Int {
        alarms.filter { $0.high == high && $0.active }.map(\.severity).max() ?? 0
    }

    mutating func observe(_ s: Sample, into events: inout [RuleEvent]) -> RuleRejection? {
        guard let v = referenceNumber(s.value) else { return RuleRejection(.wrongType, "text") }
        if let h = held, s.time < h.time { return RuleRejection(.outOfOrder, "older") }
        if held != nil { fireTimers(before: s.time, inclusive: false, into: &events) }
        held = (v, s.time, s.receivedAt, s.timeSource)
        for i in alarms.indices {
            let a = alarms[i]
            let holds = a.active
                ? (a.high ? v < a.threshold - hysteresis : v > a.threshold + hysteresis)
                : (a.high ? v >= a.threshold : v <= a.threshold)
            if !holds { alarms[i].timer = nil } else if a.timer == nil { alarms[i].timer = s.time }
        }
        for high in [true, false] {
            let inExcursion = top(high) > 0 || alarms.contains { $0.high == high && !$0.active && $0.timer != nil }
            if inExcursion {
                peak[high] = peak[high].map { high ? Swift.max($0, v) : Swift.min($0, v) } ?? v
            } else {
                peak[high] = nil
            }
        }
        fireTimers(before: s.time, inclusive: true, into: &events)
        return nil
    }

    mutating func tick(now: Timestamp, into events: inout [RuleEvent]) {
        guard let h = held, onDelay > 0 || offDelay > 0 else { return }
        let clock = Timestamp(milliseconds: h.time.milliseconds + now.milliseconds - h.received.milliseconds)
        fireTimers(before: clock, inclusive: false, into: &events)
    }

    mutating func fireTimers(before limit: Timestamp, inclusive: Bool, into events: inout [RuleEvent]) {
        while true {
            let candidates = alarms.compactMap(ranOut).filter { inclusive ? $0 <= limit : $0 < limit }
            guard let at = candidates.min() else { return }
            let tops = [true: top(true), false: top(false)]
            var changed = false
            // Every alarm that ran out by `at` changes state now; a level may end only when the level
            // above it (on its side) is inactive or ends too.
            for i in alarms.indices {
                guard let t = ranOut(alarms[i]), t <= at else { continue }
                let a = alarms[i]
                if a.active {
                    let aboveStays = alarms.contains { $0.high == a.high && $0.severity > a.severity && $0.active
                        && !(ranOut($0).map { $0 <= at } ?? false) }
                    if aboveStays { continue }
                    alarms[i].active = false
                    alarms[i].timer = nil
                    alarms[i].raisedAt = nil
                } else {
                    alarms[i].active = true
                    alarms[i].timer = nil
                    alarms[i].raisedAt = at
                    // A more severe level raised implies the ones below it.
                    for j in alarms.indices where alarms[j].high == a.high && alarms[j].severity < a.severity && !alarms[j].active {
                        alarms[j].active = true
                        alarms[j].timer = nil
                        alarms[j].raisedAt = at
                    }
                }
                changed = true
            }
            if !changed { return }
            emit(at: at, before: tops, into: &events)
        }
    }

    mutating func emit(at t: Timestamp, before: [Bool: Int], into events: inout [RuleEvent]) {
        guard let h = held else { return }
        var raises: [RuleEvent] = []
        for high in [true, false] {
            let old = before[high]!, new = top(high)
            if new < old {
                let threshold = alarms.first { $0.high == high && $0.severity == old }!.threshold
                let since = new == 0 ? excursionStart[high]! : raisedAtBefore[high]?[old] ?? t
                var values: [String: Value] = [
                    "value": .number(h.value), "severity": .text(Self.name(high, old)), "remaining": .text(Self.name(high, new)),
                    "duration_s": .number(Double(t.milliseconds - since.milliseconds) / 1000), "threshold": .number(threshold),
                ]
                if let p = peak[high] { values["peak"] = .number(p) }
                events.append(RuleEvent(type: .limitCleared, occurredAt: t, timeSource: h.source, values: values, kind: .limit))
                if new == 0 {
                    excursionStart[high] = nil
                    peak[high] = nil
                }
            } else if new > old {
                if old == 0 {
                    excursionStart[high] = t
                    peak[high] = peak[high].map { high ? Swift.max($0, h.value) : Swift.min($0, h.value) } ?? h.value
                }
                let threshold = alarms.first { $0.high == high && $0.severity == new }!.threshold
                var values: [String: Value] = [
                    "value": .number(h.value), "severity": .text(Self.name(high, new)), "previous_severity": .text(Self.name(high, old)),
                    "threshold": .number(threshold),
                ]
                if let p = peak[high] { values["peak"] = .number(p) }
                raises.append(RuleEvent(type: .limitRaised, occurredAt: t, timeSource: h.source, values: values, kind: .limit))
            }
            raisedAtBefore[high] = Dictionary(uniqueKeysWithValues: alarms.filter { $0.high == high && $0.active }.compactMap { a in a.raisedAt.map { (a.severity, $0) } })
        }
        events += raises
    }

    /// When each active level was raised, as of the last emitted step (a cleared level forgets it).
    var raisedAtBefore: [Bool: [Int: Timestamp]] = [:]
}
