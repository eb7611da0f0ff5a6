import Foundation
import Testing
@testable import EdgeRules
import MillwrightCore

/// Anything that takes samples and ticks: every rule, `AnyRule` and `SensorRules`.
protocol SampleConsumer {
    mutating func observe(_ sample: Sample, into events: inout [RuleEvent]) -> RuleRejection?
    mutating func tick(now: Timestamp, into events: inout [RuleEvent])
}

extension LimitRule: SampleConsumer {}
extension RateRule: SampleConsumer {}
extension DeadbandRule: SampleConsumer {}
extension WindowRule: SampleConsumer {}
extension StaleRule: SampleConsumer {}
extension CounterRule: SampleConsumer {}
extension StateRule: SampleConsumer {}
extension AnyRule: SampleConsumer {}
extension SensorRules: SampleConsumer {}

/// What a run of samples produced: the events in order, and every rejection with the sample's time.
struct Run {
    var events: [RuleEvent] = []
    var rejections: [(ms: Int64, rejection: RuleRejection)] = []

    var types: [EventType] { events.map(\.type) }
    var rejectionReasons: [RejectionReason] { rejections.map(\.rejection.reason) }
}

/// A point in time `ms` milliseconds after the epoch.
func ts(_ ms: Int64) -> Timestamp { Timestamp(milliseconds: ms) }

/// The RFC 3339 text the rules put in time-valued event fields.
func iso(_ ms: Int64) -> Value { .text(Timestamp(milliseconds: ms).rfc3339) }

/// A sample without a sensor timestamp: event time is the receive time.
func sample(_ ms: Int64, _ value: Value) -> Sample {
    Sample(value: value, receivedAt: ts(ms))
}

/// Feeds `(time ms, value)` samples in order (event time = receive time) and collects events and rejections.
@discardableResult
func feed<R: SampleConsumer>(_ rule: inout R, _ samples: [(Int64, Value)]) -> Run {
    var run = Run()
    for (ms, value) in samples {
        if let r = rule.observe(sample(ms, value), into: &run.events) {
            run.rejections.append((ms, r))
        }
    }
    return run
}

/// Feeds fully specified samples (sensor time, receive time) and collects events and rejections.
@discardableResult
func feed<R: SampleConsumer>(_ rule: inout R, samples: [Sample]) -> Run {
    var run = Run()
    for s in samples {
        if let r = rule.observe(s, into: &run.events) {
            run.rejections.append((s.time.milliseconds, r))
        }
    }
    return run
}

/// Advances the rule's clock to `ms` without a sample and returns what it emitted.
@discardableResult
func tick<R: SampleConsumer>(_ rule: inout R, at ms: Int64) -> [RuleEvent] {
    var events: [RuleEvent] = []
    rule.tick(now: ts(ms), into: &events)
    return events
}

/// Simulates an agent restart: the persisted state is written with JSONEncoder and read back.
func restarted<T: Codable>(_ value: T) throws -> T {
    let data = try JSONEncoder().encode(value)
    return try JSONDecoder().decode(T.self, from: data)
}

/// The event a rule of `kind` should emit, for exact comparison.
func expected(
    _ type: EventType, at ms: Int64, _ values: [String: Value], kind: RuleKind, source: TimeSource = .receive
) -> RuleEvent {
    RuleEvent(type: type, occurredAt: ts(ms), timeSource: source, values: values, kind: kind)
}
