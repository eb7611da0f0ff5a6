import MillwrightCore

/// A stored event as the synchronisation reads it back: its key, where it is in the feed, what
/// it concerns, and the envelope JSON as the edge sent it.
///
/// Why its own type: readers outside the ingest never see a table row or a backend type.
public struct FeedEvent: Sendable, Hashable {
    public var position: FeedPosition
    public var edge: String
    public var bootEpoch: Int64
    public var seq: Int64
    public var equipment: String
    public var signal: String
    public var type: EventType
    public var occurredAt: Timestamp
    public var centralReceivedAt: Timestamp
    public var body: String

    public init(position: FeedPosition, edge: String, bootEpoch: Int64, seq: Int64, equipment: String, signal: String, type: EventType,
                occurredAt: Timestamp, centralReceivedAt: Timestamp, body: String) {
        self.position = position
        self.edge = edge
        self.bootEpoch = bootEpoch
        self.seq = seq
        self.equipment = equipment
        self.signal = signal
        self.type = type
        self.occurredAt = occurredAt
        self.centralReceivedAt = centralReceivedAt
        self.body = body
    }
}

/// Which events a read wants: nil means any.
public struct FeedFilter: Sendable, Hashable {
    public var equipment: [String]?
    public var types: [EventType]?

    public init(equipment: [String]? = nil, types: [EventType]? = nil) {
        self.equipment = equipment
        self.types = types
    }

    public static let all = FeedFilter()

    /// A filter that can match nothing (an empty list) needs no query.
    public var isEmpty: Bool { equipment?.isEmpty == true || types?.isEmpty == true }
}
