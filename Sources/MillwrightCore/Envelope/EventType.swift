/// What a promoted event says happened. Raw values are the wire names.
public enum EventType: String, Codable, Sendable, CaseIterable {
    /// A limit was crossed, or its severity changed while active.
    case limitRaised = "limit_raised"
    /// The value came back inside the limit (with hysteresis and off-delay).
    case limitCleared = "limit_cleared"
    case rateRaised = "rate_raised"
    case rateCleared = "rate_cleared"
    /// Report by exception: the value moved beyond the deadband, or the heartbeat fell due.
    case valueReported = "value_reported"
    /// A window aggregate (min/max/mean/count/last).
    case summary
    /// No message for the configured time.
    case stale
    case recovered
    /// A counter delta over an interval.
    case count
    /// Machine state changed (running/idle/down).
    case stateChanged = "state_changed"
    /// A down period ended: duration and reason.
    case downtime
    /// The edge had to drop events (capacity or TTL): class, count, time range, reason. Loss is never silent.
    case gap

    /// The priority class an event of this type travels in.
    public var defaultPriority: PriorityClass {
        switch self {
        case .limitRaised, .limitCleared, .rateRaised, .rateCleared, .stale, .recovered, .gap: return .alarm
        case .count: return .count
        case .stateChanged, .downtime: return .state
        case .valueReported, .summary: return .summary
        }
    }
}

/// Delivery priority: alarms first, summaries last (and first to go under capacity pressure).
public enum PriorityClass: String, Codable, Sendable, CaseIterable, Comparable {
    case alarm
    case count
    case state
    case summary

    /// Lower rank drains first and is dropped last.
    public var rank: Int {
        switch self {
        case .alarm: return 0
        case .count: return 1
        case .state: return 2
        case .summary: return 3
        }
    }

    public static func < (lhs: PriorityClass, rhs: PriorityClass) -> Bool { lhs.rank < rhs.rank }
}

/// Where an event's `occurred_at` came from.
public enum TimeSource: String, Codable, Sendable {
    /// The sensor's own timestamp from the payload.
    case sensor
    /// The payload had no timestamp: the edge's receive time.
    case receive
    /// The payload's timestamp was implausible (clock skew): the edge's receive time instead.
    case receiveSkewed = "receive_skewed"
}
