import MillwrightCore

/// A stored event with every column, as retention archives it and `archive load` puts it back.
///
/// Why not `FeedEvent`: an archive must give back exactly what was stored (the event id, site,
/// priority, both receive times), so a loaded event is the same row it was.
public struct EventRow: Sendable, Hashable {
    /// The row in its backend's table (for deletion); not kept in an archive.
    public var row: Int64
    public var position: FeedPosition
    public var edge: String
    public var bootEpoch: Int64
    public var seq: Int64
    public var eventID: String
    public var site: String
    public var equipment: String
    public var signal: String
    public var type: String
    public var priority: Int
    public var occurredAt: Timestamp
    public var edgeReceivedAt: Timestamp
    public var centralReceivedAt: Timestamp
    public var isHistorical: Bool
    /// The envelope JSON as the edge sent it, byte for byte.
    public var body: String

    public init(row: Int64, position: FeedPosition, edge: String, bootEpoch: Int64, seq: Int64, eventID: String, site: String,
                equipment: String, signal: String, type: String, priority: Int, occurredAt: Timestamp, edgeReceivedAt: Timestamp,
                centralReceivedAt: Timestamp, isHistorical: Bool, body: String) {
        self.row = row
        self.position = position
        self.edge = edge
        self.bootEpoch = bootEpoch
        self.seq = seq
        self.eventID = eventID
        self.site = site
        self.equipment = equipment
        self.signal = signal
        self.type = type
        self.priority = priority
        self.occurredAt = occurredAt
        self.edgeReceivedAt = edgeReceivedAt
        self.centralReceivedAt = centralReceivedAt
        self.isHistorical = isHistorical
        self.body = body
    }

    /// `edge:boot_epoch:seq`, as postings, review items and unassigned spans cite events.
    public var key: String { "\(edge):\(bootEpoch):\(seq)" }
}
