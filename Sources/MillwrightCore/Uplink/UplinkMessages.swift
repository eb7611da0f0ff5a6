/// An inclusive range of outbox sequence numbers.
public struct SeqRange: Codable, Sendable, Hashable {
    public var from: Int64
    public var to: Int64

    public init(_ from: Int64, _ to: Int64) {
        self.from = from
        self.to = to
    }

    public init(from decoder: Decoder) throws {
        var c = try decoder.unkeyedContainer()
        from = try c.decode(Int64.self)
        to = try c.decode(Int64.self)
        guard from <= to else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "range [\(from), \(to)] runs backwards")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.unkeyedContainer()
        try c.encode(from)
        try c.encode(to)
    }

    public var count: Int64 { to - from + 1 }

    /// Sorted, merged ranges covering exactly `seqs`.
    public static func covering(_ seqs: [Int64]) -> [SeqRange] {
        var out: [SeqRange] = []
        for s in seqs.sorted() {
            if let last = out.last, s <= last.to + 1 {
                out[out.count - 1].to = max(last.to, s)
            } else {
                out.append(SeqRange(s, s))
            }
        }
        return out
    }

    public func contains(_ seq: Int64) -> Bool { seq >= from && seq <= to }
}

/// Central -> edge: what the central has committed (or refused) of one batch.
public struct UplinkAck: Codable, Sendable, Hashable {
    public var version: Int
    public var batch: String
    /// The boot epoch the batch named in its header (absent from centrals of release 2 and before,
    /// and for a batch that named none): an edge ignores an ack of another epoch than its own.
    public var epoch: Int64?
    /// Sequence ranges now durably stored at the central (new or already there).
    public var committed: [SeqRange]
    /// Ranges of a batch the central refused as invalid; it keeps the raw batch for operators.
    public var rejected: [SeqRange]
    public var reason: String?
    /// True when the central refused the whole batch and could not read its sequence numbers:
    /// the edge lets go of every event it sent in that batch (kept raw at the central).
    public var batchRefused: Bool?
    /// Set when the batch was refused only for its size: the central's `max_batch_bytes`. The edge
    /// keeps the events and sends them again in smaller batches.
    public var maxBatchBytes: Int?

    public init(batch: String, epoch: Int64? = nil, committed: [SeqRange], rejected: [SeqRange] = [], reason: String? = nil,
                batchRefused: Bool? = nil, maxBatchBytes: Int? = nil) {
        version = 1
        self.batch = batch
        self.epoch = epoch
        self.committed = committed
        self.rejected = rejected
        self.reason = reason
        self.batchRefused = batchRefused
        self.maxBatchBytes = maxBatchBytes
    }

    enum CodingKeys: String, CodingKey {
        case version = "v", batch, epoch, committed, rejected, reason
        case batchRefused = "batch_refused"
        case maxBatchBytes = "max_batch_bytes"
    }
}

/// The central's retained presence message: one per replica (`UplinkTopics.replicaPresence`) and
/// one for the whole service (`UplinkTopics.centralPresence`, for edges of release 1).
public struct CentralPresence: Codable, Sendable, Hashable {
    public enum State: String, Codable, Sendable { case online, offline }
    /// Why a replica is offline: it stopped cleanly (after handing over its work), or the broker
    /// lost it (its last will: a crash, a kill, a network partition).
    public enum OfflineReason: String, Codable, Sendable { case stopped, lost }
    public var state: State
    public var central: String
    /// When the state began, as the replica saw it; absent in a last will (its time is not known).
    public var since: Timestamp?
    /// The replica (its broker client id); absent in the service-wide message of release 1.
    public var replica: String?
    public var reason: OfflineReason?

    public init(state: State, central: String, since: Timestamp?, replica: String? = nil, reason: OfflineReason? = nil) {
        self.state = state
        self.central = central
        self.since = since
        self.replica = replica
        self.reason = reason
    }
}
