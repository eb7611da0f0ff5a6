import MillwrightCore

public struct StaleParams: Codable, Sendable, Hashable {
    /// Silence longer than this makes the sensor stale.
    public var after: Millis

    public init(after: Millis) { self.after = after }
}

/// Stale watchdog on the edge's receive clock (a sensor's own clock cannot tell us it went silent).
public struct StaleRule: RuleEvaluator {
    public static let kind = RuleKind.stale
    public let params: StaleParams
    var lastSeen: Timestamp?
    public private(set) var isStale = false

    public init(params: StaleParams) { self.params = params }

    public mutating func observe(_ sample: Sample, into events: inout [RuleEvent]) -> RuleRejection? {
        if isStale, let seen = lastSeen {
            isStale = false
            events.append(event(.recovered, at: sample.receivedAt, .receive, [
                "last_seen": .text(seen.rfc3339),
                "silent_s": seconds(sample.receivedAt - seen),
            ]))
        }
        if let seen = lastSeen, sample.receivedAt < seen { return nil }
        lastSeen = sample.receivedAt
        return nil
    }

    public mutating func tick(now: Timestamp, into events: inout [RuleEvent]) {
        guard !isStale, let seen = lastSeen, now - seen >= params.after else { return }
        isStale = true
        // Stamped at the moment silence crossed the limit, so replay gives the same time.
        events.append(event(.stale, at: seen + params.after, .receive, [
            "last_seen": .text(seen.rfc3339),
            "after_s": seconds(params.after),
        ]))
    }
}
