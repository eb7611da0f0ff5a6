import MillwrightCore

public enum Aggregate: String, Codable, Sendable, CaseIterable, Hashable {
    case min, max, mean, count, last
}

public struct WindowParams: Codable, Sendable, Hashable {
    /// Window length; windows are aligned to multiples of it in event time.
    public var every: Millis
    public var aggregates: [Aggregate]
    /// How long after a window's end the clock waits for late samples before closing it.
    public var grace: Millis

    public init(every: Millis, aggregates: [Aggregate] = Aggregate.allCases, grace: Millis = .seconds(2)) {
        self.every = every
        self.aggregates = aggregates
        self.grace = grace
    }
}

/// Tumbling-window aggregates, emitted as low-priority `summary` events.
public struct WindowRule: RuleEvaluator {
    public static let kind = RuleKind.window
    public let params: WindowParams
    var start: Int64?
    var count = 0
    var sum = 0.0
    // Optional rather than ±infinity: JSONEncoder cannot encode infinity, and the state is persisted.
    var minimum: Double?
    var maximum: Double?
    var last = 0.0
    var late = 0
    /// End of the last closed window: a later sample never reopens a window already summarized.
    var closedUntil: Int64?
    var source = TimeSource.receive
    /// The last reading's event time and receive time: the tick carries the sensor's clock forward
    /// from it, so `grace` is measured on the sensor's clock even when it is far from the edge's.
    var lastTime: Timestamp?
    var lastReceivedAt: Timestamp?

    public init(params: WindowParams) { self.params = params }

    private func aligned(_ t: Int64) -> Int64 {
        let e = params.every.value
        let q = t / e
        return (t % e != 0 && t < 0 ? q - 1 : q) * e
    }

    public mutating func observe(_ sample: Sample, into events: inout [RuleEvent]) -> RuleRejection? {
        guard let v = sample.numericValue else { return sample.notANumber }
        let t = sample.time.milliseconds
        if let s = start, t >= s + params.every.value {
            close(into: &events)
        }
        if start == nil { start = Swift.max(aligned(t), closedUntil ?? .min) }
        if let s = start, t < s { late += 1 }
        count += 1
        sum += v
        minimum = Swift.min(minimum ?? v, v)
        maximum = Swift.max(maximum ?? v, v)
        last = v
        source = sample.timeSource
        lastTime = sample.time
        lastReceivedAt = sample.receivedAt
        return nil
    }

    public mutating func tick(now: Timestamp, into events: inout [RuleEvent]) {
        let clock = lastTime.flatMap { t in lastReceivedAt.map { sensorClock(now: now, lastTime: t, lastReceivedAt: $0) } } ?? now
        if let s = start, clock.milliseconds >= s + params.every.value + params.grace.value {
            close(into: &events)
        }
    }

    private mutating func close(into events: inout [RuleEvent]) {
        guard let s = start else { return }
        let end = Timestamp(milliseconds: s + params.every.value)
        closedUntil = end.milliseconds
        if count > 0 {
            var values: [String: Value] = [
                "window_start": .text(Timestamp(milliseconds: s).rfc3339),
                "window_end": .text(end.rfc3339),
            ]
            for a in params.aggregates {
                switch a {
                case .min: values["min"] = .number(minimum ?? last)
                case .max: values["max"] = .number(maximum ?? last)
                case .mean: values["mean"] = .number(sum / Double(count))
                case .count: values["count"] = .number(Double(count))
                case .last: values["last"] = .number(last)
                }
            }
            if late > 0 { values["late"] = .number(Double(late)) }
            events.append(event(.summary, at: end, source, values))
        }
        start = nil
        count = 0
        sum = 0
        minimum = nil
        maximum = nil
        late = 0
    }
}
