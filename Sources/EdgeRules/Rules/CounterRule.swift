import MillwrightCore

public struct CounterParams: Codable, Sendable, Hashable {
    /// Counter width for rollover detection: 16, 32 or 64 (64: never rolls over).
    public var bits: Int
    /// Emit the accumulated delta at least this often.
    public var every: Millis
    /// Emit early once the accumulated delta reaches this quantity.
    public var quantity: Double?
    /// A single step larger than this is a glitch: discarded and counted, never promoted.
    /// Without it, a rollover is accepted only if it spans less than a quarter of the range.
    public var maxDelta: Double?
    /// A count in progress closes at its last step once the counter has stood still this long, so a
    /// stop (a changeover, a breakdown) never falls inside a count. nil: the default, 5 s (nil rather
    /// than the value, so rule state saved before this parameter existed matches a config that does
    /// not set it); 0: off.
    public var pause: Millis?

    public static let defaultPause = Millis(5_000)

    public init(bits: Int = 32, every: Millis = .seconds(60), quantity: Double? = nil, maxDelta: Double? = nil, pause: Millis? = nil) {
        self.bits = bits
        self.every = every
        self.quantity = quantity
        self.maxDelta = maxDelta
        self.pause = pause
    }

    /// The pause that closes a count; nil when off.
    var effectivePause: Millis? {
        let p = pause ?? Self.defaultPause
        return p.value > 0 ? p : nil
    }

    var range: Double? { bits >= 64 ? nil : Double(sign: .plus, exponent: bits, significand: 1) }
}

/// Cumulative part counters to deltas, with rollover and reset (PLC reboot) detection.
///
/// Never emits a negative or spiked delta. Counts are due on a grid of `every` from the instance's
/// first reading: a count covers the readings after the previous count up to the grid point and
/// is emitted at the first reading after it, at a reading exactly on it, or on the agent's tick once
/// the sensor's clock (carried forward from its last reading by the edge's clock) is past it; so at
/// most one count per `every`, plus early ones when `quantity` is reached or when the counter stood
/// still for `pause` after a step (seen in a reading: silence is not a pause). A count is emitted when anything happened: a delta, a reset, a
/// rollover or a discarded spike (each a *step*); it runs `from` the last reading before its first
/// step (readings without a step move it forward) `to` the reading of its last step, so the idle
/// time around the parts is in no count and the central attributes the parts to the order that ran
/// while they were made. The persisted state holds the last raw value, so a restart resumes
/// counting from where it was without a gap or a double.
public struct CounterRule: RuleEvaluator {
    public static let kind = RuleKind.counter
    public let params: CounterParams
    public private(set) var lastRaw: Double?
    var lastTime: Timestamp?
    var lastReceivedAt: Timestamp?
    /// Where the count in progress starts: the last reading before its first step.
    var intervalStart: Timestamp?
    /// The reading of the count's latest step; nil while nothing moved (and in state saved before
    /// it existed: such a count ends at its last reading, as it did then).
    var lastStep: Timestamp?
    /// The next grid point a count is due at.
    var due: Timestamp?
    public private(set) var pending: Double = 0
    var resets = 0
    var rollovers = 0
    var spikes = 0
    /// The last good raw value before a discarded spike, while the reading after it is awaited.
    var spikeBase: Double?
    var source = TimeSource.receive

    public init(params: CounterParams) { self.params = params }

    public mutating func observe(_ sample: Sample, into events: inout [RuleEvent]) -> RuleRejection? {
        guard let raw = sample.numericValue else { return sample.notANumber }
        if raw < 0 { return RuleRejection(.negativeCounter, "a cumulative counter cannot be \(raw)") }
        if raw != raw.rounded(.towardZero) {
            return RuleRejection(.outOfRange, "a counter reading must be a whole number, got \(raw)")
        }
        let width = params.range ?? 18_446_744_073_709_551_616  // 2^64
        if raw >= width {
            return RuleRejection(.outOfRange, "\(raw) does not fit a \(params.bits)-bit counter (at most \(width - 1))")
        }
        guard let last = lastRaw, let lastT = lastTime else {
            lastRaw = raw
            lastTime = sample.time
            lastReceivedAt = sample.receivedAt
            intervalStart = sample.time
            due = sample.time + params.every
            source = sample.timeSource
            return nil
        }
        if sample.time < lastT {
            return RuleRejection(.outOfOrder, "counter reading at \(sample.time.rfc3339) is older than \(lastT.rfc3339)")
        }
        // State saved before counts had a grid: it starts at the count in progress.
        if due == nil { due = (intervalStart ?? lastT) + params.every }
        // The grid points this reading is past close their counts first.
        closeWindows(before: sample.time, into: &events)
        let hadNews = hasNews
        let before = (pending, resets, rollovers, spikes)
        var delta = raw - last
        if delta < 0, let base = spikeBase, let maxDelta = params.maxDelta, raw >= base, raw - base <= maxDelta {
            // Back from a glitch: count from the value before the spike, not as a counter reset.
            delta = raw - base
        } else if delta < 0 {
            if let range = params.range, range - last + raw <= (params.maxDelta ?? range / 4) {
                delta = range - last + raw
                rollovers += 1
            } else {
                // The counter restarted (PLC reboot): what it shows now was counted since the reset.
                delta = raw
                resets += 1
            }
        }
        lastRaw = raw
        lastTime = sample.time
        lastReceivedAt = sample.receivedAt
        source = sample.timeSource
        if let maxDelta = params.maxDelta, delta > maxDelta {
            spikes += 1
            spikeBase = spikeBase ?? last
        } else {
            pending += delta
            spikeBase = nil
        }
        if (pending, resets, rollovers, spikes) != before {
            lastStep = sample.time
        } else if !hadNews {
            // Nothing moved yet: the count starts at this reading, not at an earlier idle one.
            intervalStart = sample.time
        } else if let p = params.effectivePause, let step = lastStep, sample.time - step >= p {
            // The counter stood still for `pause`: the count ends at its last step.
            flush(into: &events)
        }
        if let q = params.quantity, pending >= q {
            flush(into: &events)
        }
        if let d = due, sample.time == d {
            // A reading exactly on the grid point belongs to the count that closes there.
            flush(into: &events)
            due = d + params.every
        }
        return nil
    }

    public mutating func tick(now: Timestamp, into events: inout [RuleEvent]) {
        guard let t = lastTime, let r = lastReceivedAt else { return }
        // Silence is not a pause (a sensor may report only every so often): only a reading that
        // shows no step closes a count early.
        closeWindows(before: sensorClock(now: now, lastTime: t, lastReceivedAt: r), into: &events)
    }

    /// Emits the count of the window that ended at the grid point, if `t` is past it, and moves the
    /// grid point to the first one at or after `t` (periods without readings have no count).
    private mutating func closeWindows(before t: Timestamp, into events: inout [RuleEvent]) {
        guard var d = due, t > d else { return }
        flush(into: &events)
        while d < t { d = d + params.every }
        due = d
    }

    private var hasNews: Bool { pending > 0 || spikes > 0 || resets > 0 || rollovers > 0 }

    private mutating func flush(into events: inout [RuleEvent]) {
        guard let start = intervalStart, let end = lastTime else { return }
        guard hasNews else {
            // Nothing moved up to the last reading: the next count starts there, so its interval
            // says when the parts were really made (the central splits counts by it).
            intervalStart = end
            return
        }
        // Readings after the last step showed nothing: they are idle time, not the count's.
        let to = lastStep ?? end
        var values: [String: Value] = [
            "delta": .number(pending),
            "from": .text(start.rfc3339),
            "to": .text(to.rfc3339),
            "raw": .number(lastRaw ?? 0),
        ]
        if resets > 0 { values["resets"] = .number(Double(resets)) }
        if rollovers > 0 { values["rollovers"] = .number(Double(rollovers)) }
        if spikes > 0 { values["discarded_spikes"] = .number(Double(spikes)) }
        events.append(event(.count, at: to, source, values))
        pending = 0
        resets = 0
        rollovers = 0
        spikes = 0
        lastStep = nil
        intervalStart = end
    }
}
