import MillwrightCore

/// What the central tracks per edge: what `status` prints and the stores keep in `edges`.
/// Why a value type of its own: every backend returns the same record.
public struct EdgeRecord: Sendable, Codable, Hashable {
    public var edge: String
    public var site: String
    public var firstSeen: Timestamp
    public var lastSeen: Timestamp
    public var lastEpoch: Int64
    public var lastSeq: Int64
    public var events: Int
    public var duplicates: Int
    public var batches: Int
    /// Gap records received and the events they say were dropped at the edge.
    public var gapEvents: Int
    public var droppedReported: Int
    /// The edge's latest retained status (JSON).
    public var status: String?

    public init(edge: String, site: String, firstSeen: Timestamp, lastSeen: Timestamp, lastEpoch: Int64, lastSeq: Int64,
                events: Int, duplicates: Int, batches: Int, gapEvents: Int, droppedReported: Int, status: String?) {
        self.edge = edge
        self.site = site
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
        self.lastEpoch = lastEpoch
        self.lastSeq = lastSeq
        self.events = events
        self.duplicates = duplicates
        self.batches = batches
        self.gapEvents = gapEvents
        self.droppedReported = droppedReported
        self.status = status
    }

    enum CodingKeys: String, CodingKey {
        case edge, site
        case firstSeen = "first_seen"
        case lastSeen = "last_seen"
        case lastEpoch = "last_epoch"
        case lastSeq = "last_seq"
        case events, duplicates, batches
        case gapEvents = "gap_events"
        case droppedReported = "dropped_reported"
        case status
    }
}
