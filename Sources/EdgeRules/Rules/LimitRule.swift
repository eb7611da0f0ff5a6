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
    var isLowSide: Bool { self == .low || self == .lowLow }
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

    /// The level a value belongs to, given the current level (hysteresis holds a raised level).
    func level(for v: Double, current: LimitLevel) -> LimitLevel {
        let h = hysteresis
        if let hh = highHigh, v >= hh || (current == .highHigh && v > hh - h) { return .highHigh }
        if let hi = high, v >= hi || (current.isHighSide && v > hi - h) { return .high }
        if let ll = lowLow, v <= ll || (current == .lowLow && v < ll + h) { return .lowLow }
        if let lo = low, v <= lo || (current.isLowSide && v < lo + h) { return .low }
        return .normal
    }

    func threshold(of level: LimitLevel) -> Double? {
        switch level {
        case .high: return high
        case .highHigh: return highHigh
        case .low: return low
        case .lowLow: return lowLow
        case .normal: return nil
        }
    }
}

/// High/low limits with severities, hysteresis and on/off delay.
///
/// Emits `limit_raised` when leaving normal or changing severity, `limit_cleared`
/// when back to normal; both carry the peak, the clear carries the duration.
public struct LimitRule: RuleEvaluator {
    public static let kind = RuleKind.limit
    public let params: LimitParams

    public private(set) var level: LimitLevel = .normal
    /// The level the value has been asking for since `pendingSince`, while a delay runs.
    var pending: LimitLevel?
    var pendingSince: Timestamp?
    var activeSince: Timestamp?
    var peak: Double?

    public init(params: LimitParams) { self.params = params }

    public mutating func observe(_ sample: Sample, into events: inout [RuleEvent]) -> RuleRejection? {
        guard let v = sample.numericValue else { return sample.notANumber }
        let target = params.level(for: v, current: level)
        // While an alarm is active its peak stays on its own side, even if the value dips to the other.
        trackPeak(v, side: level == .normal ? target : level)
        guard target != level else {
            if level == .normal { peak = nil }
            pending = nil
            pendingSince = nil
            return nil
        }
        let escalating = isEscalation(to: target)
        // The delay restarts when the pending change switches between raising and easing, or between sides.
        if let p = pending, isEscalation(to: p) == escalating, !escalating || p.isHighSide == target.isHighSide {
            // Same kind of change still pending: keep its start.
        } else {
            pendingSince = sample.time
        }
        pending = target
        let delay = escalating ? params.onDelay : params.offDelay
        if let since = pendingSince, sample.time - since >= delay {
            transition(to: target, value: v, sample: sample, into: &events)
        }
        return nil
    }

    private func isEscalation(to target: LimitLevel) -> Bool {
        target != .normal && (target.severity > level.severity || target.isHighSide != level.isHighSide)
    }

    private mutating func trackPeak(_ v: Double, side: LimitLevel) {
        if side.isHighSide { peak = max(peak ?? v, v) } else if side.isLowSide { peak = min(peak ?? v, v) }
    }

    private mutating func transition(to target: LimitLevel, value v: Double, sample: Sample, into events: inout [RuleEvent]) {
        let previous = level
        level = target
        pending = nil
        pendingSince = nil
        if target == .normal {
            var values: [String: Value] = [
                "value": .number(v), "severity": .text(previous.rawValue),
                "duration_s": seconds(sample.time - (activeSince ?? sample.time)),
            ]
            if let p = peak { values["peak"] = .number(p) }
            if let t = params.threshold(of: previous) { values["threshold"] = .number(t) }
            events.append(event(.limitCleared, at: sample.time, sample.timeSource, values))
            activeSince = nil
            peak = nil
            return
        }
        if previous == .normal || previous.isHighSide != target.isHighSide {
            activeSince = sample.time
            if previous != .normal { peak = v }
        }
        var values: [String: Value] = [
            "value": .number(v), "severity": .text(target.rawValue), "previous_severity": .text(previous.rawValue),
        ]
        if let p = peak { values["peak"] = .number(p) }
        if let t = params.threshold(of: target) { values["threshold"] = .number(t) }
        events.append(event(.limitRaised, at: sample.time, sample.timeSource, values))
    }
}
