import MillwrightCore

/// A rule: configured parameters plus the state it carries between samples.
///
/// Rules are value types so the engine can snapshot them for persistence by
/// copying, and so a reload can carry the state of an unchanged rule over.
public protocol RuleEvaluator: Codable, Sendable, Hashable {
    associatedtype Params: Codable, Sendable, Hashable
    static var kind: RuleKind { get }
    var params: Params { get }
    init(params: Params)
    /// Feeds one sample; appends promoted events; returns a rejection if the sample is unusable for this rule.
    mutating func observe(_ sample: Sample, into events: inout [RuleEvent]) -> RuleRejection?
    /// Advances the clock without a sample (stale watchdog, window close, counter flush).
    mutating func tick(now: Timestamp, into events: inout [RuleEvent])
}

extension RuleEvaluator {
    public mutating func tick(now: Timestamp, into events: inout [RuleEvent]) {}

    func event(_ type: EventType, at time: Timestamp, _ source: TimeSource, _ values: [String: Value]) -> RuleEvent {
        RuleEvent(type: type, occurredAt: time, timeSource: source, values: values, kind: Self.kind)
    }
}

extension Sample {
    /// The value as a number for the numeric rules (a boolean counts as 0 or 1); nil for text.
    var numericValue: Double? {
        switch value {
        case .number(let d): return d
        case .bool(let b): return b ? 1 : 0
        case .text: return nil
        }
    }

    /// The rejection every numeric rule gives for a text value.
    var notANumber: RuleRejection {
        RuleRejection(.wrongType, "expected a number, got text \"\(value.description.prefix(40))\"")
    }
}

func seconds(_ span: Millis) -> Value { .number(span.seconds) }

/// The sensor's clock at the edge's time `now`, carried forward from its last reading (event time
/// `lastTime`, received at `lastReceivedAt`) by the edge's clock. Ticks complete delays, counts and
/// windows on it, so a sensor whose clock is far from the edge's behaves as it would in replay.
func sensorClock(now: Timestamp, lastTime: Timestamp, lastReceivedAt: Timestamp) -> Timestamp {
    lastTime + (now - lastReceivedAt)
}
