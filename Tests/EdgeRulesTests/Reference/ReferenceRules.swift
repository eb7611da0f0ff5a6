import MillwrightCore
@testable import EdgeRules

/// The rate, deadband, window, stale and state rules as edge/README.md describes them, each in a
/// few lines and independent of the production rules (only the envelope types are shared).
protocol ReferenceRule {
    mutating func observe(_ s: Sample, into events: inout [RuleEvent]) -> RuleRejection?
    mutating func tick(now: Timestamp, into events: inout [RuleEvent])
}

/// A reading as a number: numbers as they are, booleans as 0 and 1, text refused.
func referenceNumber(_ v: Value) -> Double? {
    switch v {
    case .number(let n): return n
    case .bool(let b): return b ? 1 : 0
    case .text: return nil
    }
}

func referenceEvent(_ type: EventType, _ kind: RuleKind, at t: Timestamp, _ source: TimeSource, _ values: [String: Value]) -> RuleEvent {
    RuleEvent(type: type, occurredAt: t, timeSource: source, values: values, kind: kind)
}

func referenceSeconds(_ ms: Int64) -> Value { .number(Double(ms) / 1000) }

/// rate: (newest − oldest) / seconds apart over the readings at most `window` older than the newest
/// (4,096 at most); raised once while |rate| > limit, cleared at the first reading where it is not.
struct ReferenceRate: ReferenceRule {
    let limit: Double
    let window: Int64
    var kept: [(t: Int64, v: Double)] = []
    var raisedAt: Timestamp?
    var peak = 0.0

    init(_ p: RateParams) { limit = p.limit; window = p.window.value }

    mutating func observe(_ s: Sample, into events: inout [RuleEvent]) -> RuleRejection? {
        guard let v = referenceNumber(s.value) else { return RuleRejection(.wrongType, "text") }
        let t = s.time.milliseconds
        if let newest = kept.last, t < newest.t { return RuleRejection(.outOfOrder, "older") }
        kept.append((t, v))
        kept = kept.filter { $0.t >= t - window }.suffix(4096).map { $0 }
        guard let oldest = kept.first, oldest.t < t else { return nil }
        let rate = (v - oldest.v) / (Double(t - oldest.t) / 1000)
        if abs(rate) > limit {
            if abs(rate) > abs(peak) { peak = rate }
            if raisedAt == nil {
                raisedAt = s.time
                events.append(referenceEvent(.rateRaised, .rate, at: s.time, s.timeSource, [
                    "rate_per_s": .number(rate), "limit_per_s": .number(limit), "value": .number(v), "window_s": referenceSeconds(window)]))
            }
        } else if let since = raisedAt {
            events.append(referenceEvent(.rateCleared, .rate, at: s.time, s.timeSource, [
                "rate_per_s": .number(rate), "peak_rate_per_s": .number(peak), "value": .number(v),
                "duration_s": referenceSeconds(t - since.milliseconds)]))
            raisedAt = nil
            peak = 0
        }
        return nil
    }

    mutating func tick(now: Timestamp, into events: inout [RuleEvent]) {}
}

/// deadband: the first reading is reported; then a reading that moved strictly more than `absolute`,
/// or than `percent` of the last reported value, from it; else, with `heartbeat`, the first reading
/// at least `heartbeat` after the last report.
struct ReferenceDeadband: ReferenceRule {
    let p: DeadbandParams
    var reported: (v: Double, t: Timestamp)?

    init(_ p: DeadbandParams) { self.p = p }

    mutating func observe(_ s: Sample, into events: inout [RuleEvent]) -> RuleRejection? {
        guard let v = referenceNumber(s.value) else { return RuleRejection(.wrongType, "text") }
        var reason = "first"
        if let r = reported {
            let moved = abs(v - r.v)
            if moved > (p.absolute ?? .infinity) || moved > (p.percent.map { abs(r.v) * $0 / 100 } ?? .infinity) {
                reason = "deadband"
            } else if let hb = p.heartbeat, s.time.milliseconds - r.t.milliseconds >= hb.value {
                reason = "heartbeat"
            } else {
                return nil
            }
        }
        var values: [String: Value] = ["value": .number(v), "reason": .text(reason)]
        if let r = reported { values["previous"] = .number(r.v) }
        events.append(referenceEvent(.valueReported, .deadband, at: s.time, s.timeSource, values))
        reported = (v, s.time)
        return nil
    }

    mutating func tick(now: Timestamp, into events: inout [RuleEvent]) {}
}

/// window: tumbling windows aligned to multiples of `every` in event time. A window closes at the
/// first reading at or past its end, or on the tick once the sensor clock (carried forward by the
/// receive clock) is `grace` past its end; a window never reopens, so a reading older than the last
/// closed window's end joins the next window and is counted `late`.
struct ReferenceWindow: ReferenceRule {
    let p: WindowParams
    var open: (start: Int64, values: [Double], late: Int, source: TimeSource)?
    var closedUntil: Int64?
    var lastReading: (t: Int64, received: Int64)?

    init(_ p: WindowParams) { self.p = p }

    mutating func observe(_ s: Sample, into events: inout [RuleEvent]) -> RuleRejection? {
        guard let v = referenceNumber(s.value) else { return RuleRejection(.wrongType, "text") }
        let t = s.time.milliseconds
        if let o = open, t >= o.start + p.every.value { close(into: &events) }
        if open == nil {
            let aligned = Int64((Double(t) / Double(p.every.value)).rounded(.down)) * p.every.value
            open = (max(aligned, closedUntil ?? .min), [], 0, s.timeSource)
        }
        open!.values.append(v)
        if t < open!.start { open!.late += 1 }
        open!.source = s.timeSource
        lastReading = (t, s.receivedAt.milliseconds)
        return nil
    }

    mutating func tick(now: Timestamp, into events: inout [RuleEvent]) {
        guard let o = open else { return }
        let clock = lastReading.map { $0.t + now.milliseconds - $0.received } ?? now.milliseconds
        if clock >= o.start + p.every.value + p.grace.value { close(into: &events) }
    }

    mutating func close(into events: inout [RuleEvent]) {
        guard let o = open else { return }
        let end = o.start + p.every.value
        closedUntil = end
        open = nil
        guard let last = o.values.last else { return }
        var values: [String: Value] = ["window_start": .text(Timestamp(milliseconds: o.start).rfc3339),
                                       "window_end": .text(Timestamp(milliseconds: end).rfc3339)]
        for a in p.aggregates {
            switch a {
            case .min: values["min"] = .number(o.values.min()!)
            case .max: values["max"] = .number(o.values.max()!)
            case .mean: values["mean"] = .number(o.values.reduce(0, +) / Double(o.values.count))
            case .count: values["count"] = .number(Double(o.values.count))
            case .last: values["last"] = .number(last)
            }
        }
        if o.late > 0 { values["late"] = .number(Double(o.late)) }
        events.append(referenceEvent(.summary, .window, at: Timestamp(milliseconds: end), o.source, values))
    }
}

/// stale (receive clock): `stale` once nothing arrived for `after`, stamped when the silence
/// crossed it; `recovered` at the next message.
struct ReferenceStale: ReferenceRule {
    let after: Int64
    var lastSeen: Int64?
    var stale = false

    init(_ p: StaleParams) { after = p.after.value }

    mutating func observe(_ s: Sample, into events: inout [RuleEvent]) -> RuleRejection? {
        let r = s.receivedAt.milliseconds
        if stale, let seen = lastSeen {
            stale = false
            events.append(referenceEvent(.recovered, .stale, at: s.receivedAt, .receive, [
                "last_seen": .text(Timestamp(milliseconds: seen).rfc3339), "silent_s": referenceSeconds(r - seen)]))
        }
        lastSeen = max(lastSeen ?? r, r)
        return nil
    }

    mutating func tick(now: Timestamp, into events: inout [RuleEvent]) {
        guard !stale, let seen = lastSeen, now.milliseconds - seen >= after else { return }
        stale = true
        events.append(referenceEvent(.stale, .stale, at: Timestamp(milliseconds: seen + after), .receive, [
            "last_seen": .text(Timestamp(milliseconds: seen).rfc3339), "after_s": referenceSeconds(after)]))
    }
}

/// state: a code maps to running/idle/down (with a reason); a change of state, or of the reason
/// while down, is a `state_changed`; leaving down ends a down period, reported as `downtime` when it
/// lasted at least `min_downtime`, with the reason it started with.
struct ReferenceState: ReferenceRule {
    let p: StateParams
    var state: MachineState?
    var periodStart: Timestamp?
    var periodReason: String?
    var lastReason: String?

    init(_ p: StateParams) { self.p = p }

    mutating func observe(_ s: Sample, into events: inout [RuleEvent]) -> RuleRejection? {
        guard let target = p.target(for: s.value) else { return RuleRejection(.unmappedState, "unmapped") }
        if let start = periodStart, s.time < start { return RuleRejection(.outOfOrder, "older") }
        let reasonChange = target.state == .down && state == .down && target.reason != lastReason
        guard target.state != state || reasonChange else { return nil }
        var values: [String: Value] = ["state": .text(target.state.rawValue), "previous_state": .text(state?.rawValue ?? "unknown"),
                                       "code": s.value]
        if let r = target.reason { values["reason"] = .text(r) }
        if let start = periodStart, state != nil { values["previous_duration_s"] = referenceSeconds(s.time.milliseconds - start.milliseconds) }
        events.append(referenceEvent(.stateChanged, .state, at: s.time, s.timeSource, values))
        lastReason = target.reason
        if reasonChange { return nil }
        if state == .down, let start = periodStart, s.time.milliseconds - start.milliseconds >= p.minDowntime.value {
            var d: [String: Value] = ["started_at": .text(start.rfc3339), "ended_at": .text(s.time.rfc3339),
                                      "duration_s": referenceSeconds(s.time.milliseconds - start.milliseconds),
                                      "next_state": .text(target.state.rawValue)]
            if let r = periodReason { d["reason"] = .text(r) }
            events.append(referenceEvent(.downtime, .state, at: s.time, s.timeSource, d))
        }
        state = target.state
        periodStart = s.time
        periodReason = target.reason
        return nil
    }

    mutating func tick(now: Timestamp, into events: inout [RuleEvent]) {}
}
