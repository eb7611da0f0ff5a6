import MillwrightCore

/// The classes of stored events that have a retention of their own (`retention:` in the central's
/// configuration). Why not `PriorityClass`: that is how events travel (a gap record travels as an
/// alarm), while how long they are kept is another question, and gap records (the proof of what an
/// edge lost) get their own.
public enum RetentionClass: String, Sendable, CaseIterable, Codable, Comparable {
    case alarms, counts, states, summaries, gaps

    /// The event types (wire names, as stored in `events.type`) in this class.
    public var types: [EventType] {
        EventType.allCases.filter { RetentionClass(type: $0) == self }
    }

    public init(type: EventType) {
        switch type {
        case .gap: self = .gaps
        case .limitRaised, .limitCleared, .rateRaised, .rateCleared, .stale, .recovered: self = .alarms
        case .count: self = .counts
        case .stateChanged, .downtime: self = .states
        case .valueReported, .summary: self = .summaries
        }
    }

    public static func < (a: Self, b: Self) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}
