import MillwrightCore

public struct DeadbandParams: Codable, Sendable, Hashable {
    /// Report when the value moves more than this from the last reported value.
    public var absolute: Double?
    /// Report when the value moves more than this percentage of the last reported value.
    public var percent: Double?
    /// Report anyway when this long has passed since the last report (on the next sample).
    public var heartbeat: Millis?

    public init(absolute: Double? = nil, percent: Double? = nil, heartbeat: Millis? = nil) {
        self.absolute = absolute
        self.percent = percent
        self.heartbeat = heartbeat
    }
}

/// Report by exception: the first value, every move beyond the deadband, and a heartbeat.
public struct DeadbandRule: RuleEvaluator {
    public static let kind = RuleKind.deadband
    public let params: DeadbandParams
    var lastReported: Double?
    var lastReportedAt: Timestamp?

    public init(params: DeadbandParams) { self.params = params }

    public mutating func observe(_ sample: Sample, into events: inout [RuleEvent]) -> RuleRejection? {
        guard let v = sample.numericValue else { return sample.notANumber }
        let reason: String
        if let last = lastReported, let at = lastReportedAt {
            let moved = abs(v - last)
            if let a = params.absolute, moved > a {
                reason = "deadband"
            } else if let p = params.percent, moved > abs(last) * p / 100 {
                reason = "deadband"
            } else if let hb = params.heartbeat, sample.time - at >= hb {
                reason = "heartbeat"
            } else {
                return nil
            }
        } else {
            reason = "first"
        }
        var values: [String: Value] = ["value": .number(v), "reason": .text(reason)]
        if let last = lastReported { values["previous"] = .number(last) }
        events.append(event(.valueReported, at: sample.time, sample.timeSource, values))
        lastReported = v
        lastReportedAt = sample.time
        return nil
    }
}
