import MillwrightCore

public struct RateParams: Codable, Sendable, Hashable {
    /// Largest allowed change per second, either direction.
    public var limit: Double
    /// The rate is measured from the oldest sample inside this window to the newest.
    public var window: Millis

    public init(limit: Double, window: Millis) {
        self.limit = limit
        self.window = window
    }
}

/// Rate of change over a sliding window; raises once while exceeded, clears when back within the limit.
public struct RateRule: RuleEvaluator {
    public static let kind = RuleKind.rate
    /// Bound on remembered samples, so a fast sensor cannot grow memory without limit.
    static let maxSamples = 4096

    public let params: RateParams
    var times: [Int64] = []
    var values: [Double] = []
    public private(set) var active = false
    var activeSince: Timestamp?
    var peakRate: Double = 0

    public init(params: RateParams) { self.params = params }

    public mutating func observe(_ sample: Sample, into events: inout [RuleEvent]) -> RuleRejection? {
        guard let v = sample.numericValue else { return sample.notANumber }
        let t = sample.time.milliseconds
        if let last = times.last, t < last {
            return RuleRejection(.outOfOrder, "sample at \(sample.time.rfc3339) is older than the previous one")
        }
        times.append(t)
        values.append(v)
        let horizon = t - params.window.value
        var drop = 0
        while drop < times.count - 1 && (times[drop] < horizon || times.count - drop > Self.maxSamples) { drop += 1 }
        if drop > 0 {
            times.removeFirst(drop)
            values.removeFirst(drop)
        }
        guard let t0 = times.first, t > t0 else { return nil }
        let rate = (v - values[0]) / (Double(t - t0) / 1000)
        if abs(rate) > params.limit {
            peakRate = abs(rate) > abs(peakRate) ? rate : peakRate
            if !active {
                active = true
                activeSince = sample.time
                events.append(event(.rateRaised, at: sample.time, sample.timeSource, [
                    "rate_per_s": .number(rate), "limit_per_s": .number(params.limit),
                    "value": .number(v), "window_s": seconds(params.window),
                ]))
            }
        } else if active {
            active = false
            events.append(event(.rateCleared, at: sample.time, sample.timeSource, [
                "rate_per_s": .number(rate), "peak_rate_per_s": .number(peakRate), "value": .number(v),
                "duration_s": seconds(sample.time - (activeSince ?? sample.time)),
            ]))
            activeSince = nil
            peakRate = 0
        }
        return nil
    }
}
