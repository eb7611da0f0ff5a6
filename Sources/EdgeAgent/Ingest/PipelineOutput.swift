import EdgeRules
import Foundation
import MillwrightCore

/// The saved rule state of one sensor instance.
public struct RuleStateRecord: Sendable, Hashable {
    public var key: String
    public var sensor: String
    public var equipment: String
    public var signal: String
    public var rules: SensorRules
    public var updatedAt: Timestamp

    public init(key: String, sensor: String, equipment: String, signal: String, rules: SensorRules, updatedAt: Timestamp) {
        self.key = key
        self.sensor = sensor
        self.equipment = equipment
        self.signal = signal
        self.rules = rules
        self.updatedAt = updatedAt
    }
}

/// A sample of refused input, kept (bounded) so an engineer can see what the sensor really sent.
public struct QuarantineEntry: Sendable, Hashable, Codable {
    public var at: Timestamp
    public var reason: RejectionReason
    public var sensor: String
    public var topic: String
    public var detail: String
    /// The payload, cut to 256 bytes, invalid UTF-8 replaced.
    public var payload: String

    static let payloadSampleBytes = 256
}

/// What the pipeline hands onward under its lock, in order: events with the rule
/// state that produced them (committed together), state checkpoints, quarantine samples.
public struct PipelineOutput: Sendable {
    public var events: [EventEnvelope] = []
    public var states: [RuleStateRecord] = []
    public var quarantine: [QuarantineEntry] = []

    public var isEmpty: Bool { events.isEmpty && states.isEmpty && quarantine.isEmpty }
}

/// Where the pipeline's output goes: the store writer live, a collector in replay and tests.
public protocol EventSink: Sendable {
    func accept(_ output: PipelineOutput)
}

/// How promoted events get their ids.
public enum EventIDScheme: Sendable {
    /// Random UUIDs (live).
    case random
    /// "replay-000001", ... so a replay prints the same ids every run.
    case sequential(prefix: String)
}
