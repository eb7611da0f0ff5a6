import MillwrightCore
@testable import EdgeRules

/// The counter rule exactly as edge/README.md describes it, independent of `CounterRule`.
///
/// Readings are whole numbers in [0, 2^bits); others are refused (`negative_counter`,
/// `out_of_range`), as are readings older than the last. Each accepted reading's step from the
/// previous one is: the difference when it rose; a rollover (range − last + raw) when it fell and
/// that is within `max_delta` (or a quarter of the range without it); else a reset (raw counted from
/// zero). A step above `max_delta` is a discarded spike; a later reading that falls back onto the
/// old track (at or above the value before the spike, within `max_delta` of it) steps from that
/// value. Counts fall due on a grid of `every` from the first reading: a grid point is
/// closed by the first reading after it (before that reading counts), by a reading exactly on it
/// (after it counts) or by a tick once the sensor clock, carried forward by the receive clock, is
/// past it; `quantity` closes a count early. A closed count is emitted only if something happened.
/// A step, a rollover, a reset or a discarded spike is "something"; a count runs from the last
/// reading before its first one (a reading with none, while nothing happened yet, moves the start
/// to it) to the reading of its last one. Once something happened, a reading with nothing at least
/// `pause` (default 5 s, 0 off) after the last one closes the count; a tick never does.
struct ReferenceCounter: ReferenceRule {
    let bits: Int
    let every: Int64
    let quantity: Double?
    let maxDelta: Double?
    let pause: Int64
    var last: (raw: Double, time: Timestamp, received: Timestamp, source: TimeSource)?
    var gridPoint: Int64 = 0
    var countFrom: Timestamp = .init(milliseconds: 0)
    var sum: Double = 0
    var resets = 0, rollovers = 0, spikes = 0
    var beforeSpike: Double?
    var lastSomething: Timestamp?

    init(_ p: CounterParams) {
        bits = p.bits
        every = p.every.value
        quantity = p.quantity
        maxDelta = p.maxDelta
        pause = (p.pause ?? Millis(5_000)).value
    }

    var somethingHappened: Bool { sum > 0 || resets > 0 || rollovers > 0 || spikes > 0 }

    var range: Double? { bits >= 64 ? nil : pow2(bits) }
    func pow2(_ n: Int) -> Double { (0..<n).reduce(1.0) { r, _ in r * 2 } }

    mutating func observe(_ s: Sample, into events: inout [RuleEvent]) -> RuleRejection? {
        guard let raw = referenceNumber(s.value) else { return RuleRejection(.wrongType, "text") }
        if raw < 0 { return RuleRejection(.negativeCounter, "negative") }
        if raw.rounded(.towardZero) != raw || raw >= (range ?? pow2(64)) { return RuleRejection(.outOfRange, "range") }
        guard let l = last else {
            last = (raw, s.time, s.receivedAt, s.timeSource)
            countFrom = s.time
            gridPoint = s.time.milliseconds + every
            return nil
        }
        if s.time < l.time { return RuleRejection(.outOfOrder, "older") }
        if s.time.milliseconds > gridPoint {
            close(into: &events)
            while gridPoint < s.time.milliseconds { gridPoint += every }
        }
        let happenedBefore = somethingHappened
        let counted = (sum, resets, rollovers, spikes)
        let step: Double
        if raw >= l.raw {
            step = raw - l.raw
        } else if let base = beforeSpike, let m = maxDelta, raw >= base, raw - base <= m {
            step = raw - base
        } else if let r = range, r - l.raw + raw <= (maxDelta ?? r / 4) {
            step = r - l.raw + raw
            rollovers += 1
        } else {
            step = raw
            resets += 1
        }
        last = (raw, s.time, s.receivedAt, s.timeSource)
        if let m = maxDelta, step > m {
            spikes += 1
            if beforeSpike == nil { beforeSpike = l.raw }
        } else {
            sum += step
            beforeSpike = nil
        }
        if counted != (sum, resets, rollovers, spikes) {
            lastSomething = s.time
        } else if !happenedBefore {
            countFrom = s.time
        } else if pause > 0, let at = lastSomething, s.time.milliseconds - at.milliseconds >= pause {
            close(into: &events)
        }
        if let q = quantity, sum >= q { close(into: &events) }
        if s.time.milliseconds == gridPoint {
            close(into: &events)
            gridPoint += every
        }
        return nil
    }

    mutating func tick(now: Timestamp, into events: inout [RuleEvent]) {
        guard let l = last else { return }
        let clock = l.time.milliseconds + now.milliseconds - l.received.milliseconds
        if clock > gridPoint {
            close(into: &events)
            while gridPoint < clock { gridPoint += every }
        }
    }

    mutating func close(into events: inout [RuleEvent]) {
        guard let l = last else { return }
        if somethingHappened {
            let to = lastSomething ?? l.time
            var values: [String: Value] = ["delta": .number(sum), "from": .text(countFrom.rfc3339), "to": .text(to.rfc3339),
                                           "raw": .number(l.raw)]
            if resets > 0 { values["resets"] = .number(Double(resets)) }
            if rollovers > 0 { values["rollovers"] = .number(Double(rollovers)) }
            if spikes > 0 { values["discarded_spikes"] = .number(Double(spikes)) }
            events.append(RuleEvent(type: .count, occurredAt: to, timeSource: l.source, values: values, kind: .counter))
        }
        lastSomething = nil
        sum = 0
        resets = 0
        rollovers = 0
        spikes = 0
        countFrom = l.time
    }
}
