import MillwrightCore

/// One side of a limit (high: `high`, `high_high`; low: `low`, `low_low`), alarmed the way
/// ISA-18.2 describes: every level is its own alarm with its own timers.
///
/// Why a type per side: a level is raised only after the value has been at or beyond *its own*
/// threshold for `on_delay`, and it clears (or eases to the level below) only after the value has
/// been back past its threshold by `hysteresis` for `off_delay`. One timer per direction, as before,
/// raised whatever level the value happened to be in when the timer ran out. The two sides are
/// independent alarms, so a jump from `high_high` to `low` clears one and raises the other, each on
/// its own delay.
struct LimitSide: Codable, Sendable, Hashable {
    /// Which side: thresholds are compared upward (high) or downward (low).
    let isHigh: Bool
    /// The threshold of severity 1 and 2 (`high`, `high_high` or `low`, `low_low`); nil if not set.
    let thresholds: [Double?]
    /// How many levels are active: 0 (normal), 1, or 2 (the most severe).
    var active = 0
    /// Per severity 1 and 2: while inactive, since when the value is at or beyond the threshold
    /// (the on-delay timer); while active, since when it is back past it (the off-delay timer).
    var since: [Timestamp?] = [nil, nil]
    /// When each severity was raised, and when the side left normal.
    var raisedAt: [Timestamp?] = [nil, nil]
    var activeSince: Timestamp?
    /// The most extreme value since the side left normal.
    var peak: Double?

    init(isHigh: Bool, thresholds: [Double?]) {
        self.isHigh = isHigh
        self.thresholds = thresholds
    }

    static let names: [Bool: [String]] = [true: ["normal", "high", "high_high"], false: ["normal", "low", "low_low"]]
    func name(_ severity: Int) -> String { Self.names[isHigh]![severity] }

    /// The most extreme value so far: the highest on the high side, the lowest on the low side.
    mutating func track(peak v: Double) {
        peak = isHigh ? max(peak ?? v, v) : min(peak ?? v, v)
    }

    /// Inclusive: a value at the threshold is beyond it.
    func beyond(_ v: Double, _ severity: Int) -> Bool {
        guard let t = thresholds[severity - 1] else { return false }
        return isHigh ? v >= t : v <= t
    }

    /// Strict: back past the threshold by the hysteresis.
    func back(_ v: Double, _ severity: Int, hysteresis h: Double) -> Bool {
        guard let t = thresholds[severity - 1] else { return true }
        return isHigh ? v < t - h : v > t + h
    }

    func isActive(_ severity: Int) -> Bool { severity <= active }

    /// When the level's running timer completes, if one runs.
    func due(_ severity: Int, onDelay: Millis, offDelay: Millis) -> Timestamp? {
        since[severity - 1].map { $0 + (isActive(severity) ? offDelay : onDelay) }
    }

    /// The earliest completion among the running timers.
    func nextDue(onDelay: Millis, offDelay: Millis) -> Timestamp? {
        [1, 2].compactMap { due($0, onDelay: onDelay, offDelay: offDelay) }.min()
    }
}
