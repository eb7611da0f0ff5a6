/// The canonical promoted event: what leaves the plant.
///
/// `bootEpoch` and `seq` are assigned when the edge outbox commits the event;
/// together with `edge` they are the key the central deduplicates on.
public struct EventEnvelope: Codable, Hashable, Sendable {
    public static let currentSchemaVersion = 1

    public var schemaVersion: Int
    public var eventID: String
    public var site: String
    public var edge: String
    public var bootEpoch: Int64?
    public var seq: Int64?
    public var equipment: String
    public var signal: String
    public var type: EventType
    public var priority: PriorityClass
    public var occurredAt: Timestamp
    public var timeSource: TimeSource
    public var edgeReceivedAt: Timestamp
    public var values: [String: Value]
    /// The rule that fired, as "sensor.kind" (for example "spindle-temp.limit").
    public var rule: String
    /// Set on events delivered from a backlog after an outage.
    public var isHistorical: Bool

    public init(
        eventID: String, site: String, edge: String, equipment: String, signal: String,
        type: EventType, priority: PriorityClass, occurredAt: Timestamp, timeSource: TimeSource,
        edgeReceivedAt: Timestamp, values: [String: Value], rule: String,
        bootEpoch: Int64? = nil, seq: Int64? = nil, isHistorical: Bool = false
    ) {
        self.schemaVersion = Self.currentSchemaVersion
        self.eventID = eventID
        self.site = site
        self.edge = edge
        self.bootEpoch = bootEpoch
        self.seq = seq
        self.equipment = equipment
        self.signal = signal
        self.type = type
        self.priority = priority
        self.occurredAt = occurredAt
        self.timeSource = timeSource
        self.edgeReceivedAt = edgeReceivedAt
        self.values = values
        self.rule = rule
        self.isHistorical = isHistorical
    }

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version"
        case eventID = "event_id"
        case site, edge
        case bootEpoch = "boot_epoch"
        case seq, equipment, signal, type, priority
        case occurredAt = "occurred_at"
        case timeSource = "time_source"
        case edgeReceivedAt = "edge_received_at"
        case values, rule
        case isHistorical = "is_historical"
    }
}
