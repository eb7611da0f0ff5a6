import EdgeRules
import MillwrightCore

/// Counters of the ingest pipeline, as reported in status output.
public struct PipelineStats: Sendable, Codable, Hashable {
    /// Messages that reached the pipeline.
    public var messagesReceived = 0
    /// Messages decoded and fed to at least one sensor's rules.
    public var messagesProcessed = 0
    /// Messages refused entirely (bad input); each is also in `quarantined`.
    public var messagesRejected = 0
    public var eventsPromoted = 0
    /// Sensor instances (equipment + signal) seen so far.
    public var instances = 0
    /// Counts per reason and sensor; clock skew under use_receive_time is counted here too.
    public var quarantined: [QuarantineCount] = []
    public var lastMessageAt: Timestamp?

    enum CodingKeys: String, CodingKey {
        case messagesReceived = "messages_received"
        case messagesProcessed = "messages_processed"
        case messagesRejected = "messages_rejected"
        case eventsPromoted = "events_promoted"
        case instances
        case quarantined
        case lastMessageAt = "last_message_at"
    }
}

public struct QuarantineCount: Sendable, Codable, Hashable {
    public var reason: RejectionReason
    public var sensor: String
    public var count: Int
}

struct QuarantineKey: Hashable {
    var reason: RejectionReason
    var sensor: String
}
