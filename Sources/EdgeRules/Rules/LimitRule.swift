import MillwrightCore

/// Limit levels, from the low side to the high side.
public enum LimitLevel: String, Codable, Sendable, Hashable {
    case lowLow = "low_low"
    case low
    case normal
    case high
    case highHigh = "high_high"

    var severity: Int {
        switch self {
        case .normal: return 0
        case .low, .high: return 1
        case .lowLow, .highHigh: return 2
        }
    }

    var isHighSide: Bool { self == .high || self == .highHigh }
}

public struct LimitParams: Codable, Sendable, Hashable {
    public var high: Double?
    public var highHigh: Double?
    public var low: Double?
    public var lowLow: Double?
    /// A raised level clears only once the value is back past its threshold by this much.
    public var hysteresis: Double
    /// A more severe level must hold this long before it is raised.
    public var onDelay: Millis
    /// A less severe level (or normal) must hold this long before the alarm eases or clears.
    public var offDelay: Millis

    public init(high: Double? = nil, highHigh: Double? = nil, low: Double? = nil, lowLow: Double? = nil,
                hysteresis: Double = 0, onDelay: Millis = .zero, offDelay: Millis = .zero) {
        self.high = high
        self.highHigh = highHigh
        self.low = low
        self.lowLow = lowLow
        self.hysteresis = hysteresis
        self.onDelay = onDelay
        self.offDelay = offDelay
    }
}

/// High/low limits with severities, hysteresis and on/off delays, alarmed per level (ISA-18.2).
///
/// Every level is its own alarm: it is raised once the value has been at or beyond its threshold
/// for `on_delay`, and it ends once the value has been back past the threshold by `hysteresis` for
/// `off_delay`. A side escalates and eases level by level; the two sides are independent. A value
/// holds until the next reading (sample and hold), and a delay completes at the first reading after
/// it ran out (or at a reading exactly then that still keeps the condition), or on the agent's tick
/// once the sensor's clock, carried forward from its last reading by the edge's clock, is past it.
/// An event is stamped with the time the delay completed. edge/README.md has the table of cases.
public struct LimitRule: RuleEvaluator {
    public static let kind = RuleKind.limit
    public let params: LimitParams
    var high: LimitSide
    var low: LimitSide
    /// The last reading: its value holds until the next one.
    var last: Held?

    struct Held: Codable, Sendable, Hashable {
        var value: Double
        var time: Timestamp
        var receivedAt: Timestamp
        var source: TimeSource
    }

    public init(params: LimitParams) {
        self.params = params
        high = LimitSide(isHigh: true, thresholds: [params.high, params.highHigh])
        low = LimitSide(isHigh: false, thresholds: [params.low, params.lowLow])
    }

    /// The most severe active level (high side first); `normal` when neither side is active.
    public var level: LimitLevel {
        switch (high.active, low.active) {
        case (2, _): return .highHigh
        case (1, _): return .high
        case (_, 2): return .lowLow
        case (_, 1): return .low
        default: return .normal
        }
    }

    var needsTick: Bool { params.onDelay > .zero || params.offDelay > .zero }

    public mutating func observe(_ sample: Sample, into events: inout [RuleEvent]) -> RuleRejection? {
        guard let v = sample.numericValue else { return sample.notANumber }
        if let l = last {
            if sample.time < l.time {
                return RuleRejection(.outOfOrder, "limit reading at \(sample.time.rfc3339) is older than \(l.time.rfc3339)")
            }
            // Delays that ran out before this reading, on the value held until now.
            complete(before: sample.time, held: l, into: &events)
        }
        let reading = Held(value: v, time: sample.time, receivedAt: sample.receivedAt, source: sample.timeSource)
        last = reading
        apply(reading, into: &events)
        return nil
    }

    public mutating func tick(now: Timestamp, into events: inout [RuleEvent]) {
        guard let l = last, needsTick else { return }
        complete(before: sensorClock(now: now, lastTime: l.time, lastReceivedAt: l.receivedAt), held: l, into: &events)
    }

    /// Fires every timer that completed strictly before `t`, earliest first, on the held value.
    private mutating func complete(before t: Timestamp, held: Held, into events: inout [RuleEvent]) {
        while true {
            let dues = [high.nextDue(onDelay: params.onDelay, offDelay: params.offDelay),
                        low.nextDue(onDelay: params.onDelay, offDelay: params.offDelay)].compactMap { $0 }
            guard let d = dues.min(), d < t else { return }
            let before = (high, low)
            fire(at: d, held: held, into: &events)
            // Defensive: a due timer that cannot fire (it cannot happen: a level's off-delay never
            // completes before the one of the level above it) must not spin.
            if (high, low) == before { return }
        }
    }

    /// Applies a new reading: timers start or stop, and those already due (no delay, or one that
    /// completes exactly now with the condition still true) fire at the reading's time.
    private mutating func apply(_ r: Held, into events: inout [RuleEvent]) {
        let h = params.hysteresis
        for isHigh in [true, false] {
            var side = isHigh ? high : low
            for sev in 1...2 where side.thresholds[sev - 1] != nil {
                let condition = side.isActive(sev) ? side.back(r.value, sev, hysteresis: h) : side.beyond(r.value, sev)
                if condition {
                    if side.since[sev - 1] == nil { side.since[sev - 1] = r.time }
                } else {
                    side.since[sev - 1] = nil
                }
            }
            if side.active > 0 || side.since[0] != nil || side.since[1] != nil {
                side.track(peak: r.value)
            } else {
                side.peak = nil
            }
            if isHigh { high = side } else { low = side }
        }
        fire(at: r.time, held: r, into: &events)
    }

    /// Everything due at or before `t` on both sides, as one step at `t`: clears before raises.
    private mutating func fire(at t: Timestamp, held: Held, into events: inout [RuleEvent]) {
        var raised: [RuleEvent] = []
        for isHigh in [true, false] {
            var side = isHigh ? high : low
            // Clears, top down: a level ends only once every level above it has.
            var top = side.active
            while top > 0 && (isDue(side, top, at: t) || side.thresholds[top - 1] == nil) { top -= 1 }
            if top < side.active {
                events.append(cleared(&side, from: side.active, to: top, at: t, value: held))
            }
            // Raises: the most severe level due, and every level below it.
            if let sev = [2, 1].first(where: { $0 > side.active && isDue(side, $0, at: t) }) {
                raised.append(raise(&side, to: sev, at: t, value: held))
            }
            if isHigh { high = side } else { low = side }
        }
        events += raised
    }

    private func isDue(_ side: LimitSide, _ sev: Int, at t: Timestamp) -> Bool {
        side.thresholds[sev - 1] != nil && (side.due(sev, onDelay: params.onDelay, offDelay: params.offDelay).map { $0 <= t } ?? false)
    }

    private func raise(_ side: inout LimitSide, to sev: Int, at t: Timestamp, value r: Held) -> RuleEvent {
        let previous = side.active
        if previous == 0 {
            side.activeSince = t
            side.track(peak: r.value)
        }
        for k in (previous + 1)...sev {
            side.raisedAt[k - 1] = t
            side.since[k - 1] = nil
        }
        side.active = sev
        var values: [String: Value] = [
            "value": .number(r.value), "severity": .text(side.name(sev)), "previous_severity": .text(side.name(previous)),
        ]
        if let p = side.peak { values["peak"] = .number(p) }
        if let th = side.thresholds[sev - 1] { values["threshold"] = .number(th) }
        return event(.limitRaised, at: t, r.source, values)
    }

    private func cleared(_ side: inout LimitSide, from sev: Int, to remaining: Int, at t: Timestamp, value r: Held) -> RuleEvent {
        let since = remaining == 0 ? side.activeSince : side.raisedAt[sev - 1]
        var values: [String: Value] = [
            "value": .number(r.value), "severity": .text(side.name(sev)), "remaining": .text(side.name(remaining)),
            "duration_s": seconds(t - (since ?? t)),
        ]
        if let p = side.peak { values["peak"] = .number(p) }
        if let th = side.thresholds[sev - 1] { values["threshold"] = .number(th) }
        for k in (remaining + 1)...sev {
            side.raisedAt[k - 1] = nil
            side.since[k - 1] = nil
        }
        side.active = remaining
        if remaining == 0 {
            side.activeSince = nil
            side.peak = nil
        }
        return event(.limitCleared, at: t, r.source, values)
    }
}

extension LimitRule {
    enum CodingKeys: String, CodingKey { case params, high, low, last, level, activeSince, peak }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(params, forKey: .params)
        try c.encode(high, forKey: .high)
        try c.encode(low, forKey: .low)
        try c.encodeIfPresent(last, forKey: .last)
    }

    /// Reads the per-side state, or the single level saved before levels had their own timers (an
    /// active alarm stays active across the upgrade; running delays start again).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(params: try c.decode(LimitParams.self, forKey: .params))
        if let h = try c.decodeIfPresent(LimitSide.self, forKey: .high), let l = try c.decodeIfPresent(LimitSide.self, forKey: .low) {
            high = h
            low = l
            last = try c.decodeIfPresent(Held.self, forKey: .last)
            return
        }
        let old = try c.decodeIfPresent(LimitLevel.self, forKey: .level) ?? .normal
        guard old != .normal else { return }
        var side = old.isHighSide ? high : low
        side.active = old.severity
        side.activeSince = try c.decodeIfPresent(Timestamp.self, forKey: .activeSince)
        side.raisedAt = (1...2).map { $0 <= old.severity ? side.activeSince : nil }
        side.peak = try c.decodeIfPresent(Double.self, forKey: .peak)
        if old.isHighSide { high = side } else { low = side }
    }
}
