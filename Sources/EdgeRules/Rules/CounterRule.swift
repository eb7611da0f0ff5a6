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

    public init(bits: Int = 32, every: Millis = .seconds(60), quantity: Double? = nil, maxDelta: Double? = nil) {
        self.bits = bits
        self.every = every
        self.quantity = quantity
        self.maxDelta = maxDelta
    }

    var range: Double? { bits >= 64 ? nil : Double(sign: .plus, exponent: bits, significand: 1) }
}

/// Cumulative part counters to deltas, with rollover and reset (PLC reboot) detection.
///
/// Never emits a negative or spiked delta. The persisted state holds the last raw
/// value, so a restart resumes counting from where it was without a gap or a double.
public struct CounterRule: RuleEvaluator {
    public static let kind = RuleKind.counter
    public let params: CounterParams
    public private(set) var lastRaw: Double?
    var lastTime: Timestamp?
    var intervalStart: Timestamp?
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
        guard let last = lastRaw, let lastT = lastTime else {
            lastRaw = raw
            lastTime = sample.time
            intervalStart = sample.time
            return nil
        }
        if sample.time < lastT {
            return RuleRejection(.outOfOrder, "counter reading at \(sample.time.rfc3339) is older than \(lastT.rfc3339)")
        }
        var delta = raw - last
        if delta < 0, let base = spikeBase, let maxDelta = params.maxDelta, raw >= base, raw - base <= maxDelta {
            // Back from a glitch: count from the value before the spike, not as a counter reset.
            delta = raw - base
        } else if delta < 0 {
            if let range = params.range, raw < range, last < range,
               range - last + raw <= (params.maxDelta ?? range / 4) {
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
        source = sample.timeSource
        if let maxDelta = params.maxDelta, delta > maxDelta {
            spikes += 1
            spikeBase = spikeBase ?? last
        } else {
            pending += delta
            spikeBase = nil
        }
        if let q = params.quantity, pending >= q {
            flush(into: &events)
        } else if let start = intervalStart, sample.time - start >= params.every {
            flush(into: &events)
        }
        return nil
    }

    public mutating func tick(now: Timestamp, into events: inout [RuleEvent]) {
        if let start = intervalStart, pending > 0 || spikes > 0, now - start >= params.every {
            flush(into: &events)
        }
    }

    private mutating func flush(into events: inout [RuleEvent]) {
        guard let start = intervalStart, let end = lastTime else { return }
        if pending > 0 || spikes > 0 {
            var values: [String: Value] = [
                "delta": .number(pending),
                "from": .text(start.rfc3339),
                "to": .text(end.rfc3339),
                "raw": .number(lastRaw ?? 0),
            ]
            if resets > 0 { values["resets"] = .number(Double(resets)) }
            if rollovers > 0 { values["rollovers"] = .number(Double(rollovers)) }
            if spikes > 0 { values["discarded_spikes"] = .number(Double(spikes)) }
            events.append(event(.count, at: end, source, values))
        }
        pending = 0
        resets = 0
        rollovers = 0
        spikes = 0
        intervalStart = end
    }
}
