import MillwrightCore

/// One decoded reading of one sensor instance, as the rules see it.
public struct Sample: Sendable, Hashable {
    public var value: Value
    /// Event time: the sensor's timestamp when the payload had one, else the receive time.
    public var time: Timestamp
    public var timeSource: TimeSource
    /// The edge's clock when the message arrived (drives the stale watchdog).
    public var receivedAt: Timestamp

    public init(value: Value, time: Timestamp, timeSource: TimeSource, receivedAt: Timestamp) {
        self.value = value
        self.time = time
        self.timeSource = timeSource
        self.receivedAt = receivedAt
    }

    /// A sample with no sensor timestamp: event time is the receive time.
    public init(value: Value, receivedAt: Timestamp) {
        self.init(value: value, time: receivedAt, timeSource: .receive, receivedAt: receivedAt)
    }
}

/// What a rule emits; the agent wraps it into an `EventEnvelope` with identity and ids.
public struct RuleEvent: Sendable, Hashable {
    public var type: EventType
    public var occurredAt: Timestamp
    public var timeSource: TimeSource
    public var values: [String: Value]
    public var kind: RuleKind

    public init(type: EventType, occurredAt: Timestamp, timeSource: TimeSource, values: [String: Value], kind: RuleKind) {
        self.type = type
        self.occurredAt = occurredAt
        self.timeSource = timeSource
        self.values = values
        self.kind = kind
    }
}

/// Why a rule refused a sample. The pipeline counts it per reason and sensor and quarantines a copy.
public struct RuleRejection: Error, Sendable, Hashable {
    public var reason: RejectionReason
    public var detail: String

    public init(_ reason: RejectionReason, _ detail: String) {
        self.reason = reason
        self.detail = detail
    }
}

/// Every reason a message or sample is refused. Raw values are the names in status output.
public enum RejectionReason: String, Sendable, Codable, CaseIterable, Comparable {
    case oversized
    case unknownTopic = "unknown_topic"
    case malformedPayload = "malformed_payload"
    case missingField = "missing_field"
    case wrongType = "wrong_type"
    case nonFinite = "non_finite"
    case futureTimestamp = "future_timestamp"
    case pastTimestamp = "past_timestamp"
    case badTimestamp = "bad_timestamp"
    case outOfOrder = "out_of_order"
    case negativeCounter = "negative_counter"
    /// A counter reading that is not a whole number, or does not fit the counter's `bits`.
    case outOfRange = "out_of_range"
    case unmappedState = "unmapped_state"
    /// The sensor time is not after the last processed reading of this instance: a reading the
    /// plant broker redelivered after a crash, or one that arrived out of order. Not processed again.
    case alreadySeen = "already_seen"
    /// The topic names a new sensor instance, but the agent already tracks its maximum (100,000).
    case tooManyInstances = "too_many_instances"

    public static func < (lhs: RejectionReason, rhs: RejectionReason) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// The rule kinds a sensor can carry, at most one of each. Raw values are the config keys.
public enum RuleKind: String, Sendable, Codable, CaseIterable, Hashable {
    case limit, rate, deadband, window, stale, counter, state
}
