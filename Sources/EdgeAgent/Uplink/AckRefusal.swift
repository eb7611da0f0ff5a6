/// Why an ack deleted nothing (counted per reason in `status`, `uplink.acks_ignored`).
public enum AckRefusal: String, Sendable, Codable, CaseIterable {
    /// It names a batch this process did not send, or sent too long ago to remember (an ack of an
    /// earlier run, a forged ack, a refusal the central sent for a batch published in this edge's name).
    case unknownBatch = "unknown_batch"
    /// It names a batch already acknowledged.
    case alreadyAcknowledged = "already_acknowledged"
    /// It carries another boot epoch than this run's.
    case otherEpoch = "other_epoch"
    /// It names sequence numbers the batch did not carry.
    case outsideBatch = "outside_batch"
    /// It is not an ack of protocol v1 (not JSON, or fields missing or of the wrong type).
    case unreadable
}
