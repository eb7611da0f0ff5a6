import MillwrightCore

/// Where the central's ingest keeps what it accepted: events deduplicated on their key
/// (edge, boot_epoch, seq), what it tracks per edge, and refused batches kept raw.
///
/// Why a protocol: the embedded SQLite file and a PostgreSQL shared by several central replicas
/// must look the same to the ingest service, the commands and the tests. Each backend lives in
/// its own folder with all of its SQL; nothing outside a backend sees a table or a pool.
public protocol IngestStore: Sendable {
    /// Where the data is, for logs and `status` (a path or a URL without password).
    var location: String { get }

    /// Stores valid batches and refused ones in one transaction, durably, before returning (the
    /// caller acknowledges after). Returns, per valid batch and in order, how many events were new
    /// and how many were already stored. Several processes may call this on one database at once:
    /// each event key is stored once whoever wins.
    func commit(_ batches: [ValidBatch], rejected: [RejectedBatch], now: Timestamp) async throws -> [IngestOutcome]

    /// Keeps an edge's latest retained status (JSON) beside its tracking row.
    func recordStatus(edge: String, site: String, json: String, at: Timestamp) async throws

    /// Every edge seen, ordered by site and edge.
    func edges() async throws -> [EdgeRecord]

    func eventCount() async throws -> Int

    /// Refused batches per reason kind (`BatchRefusalReason` raw values).
    func rejectedByReason() async throws -> [String: Int]

    // MARK: reading the stored events back (the synchronisation)

    /// Events stored after `position`, in commit order (`FeedPosition`), at most `limit`, of the
    /// equipment and types `filter` names. An event not returned yet is never before the last
    /// position returned, so a cursor saved from it skips nothing.
    func events(after position: FeedPosition, _ filter: FeedFilter, limit: Int) async throws -> [FeedEvent]

    /// Events of the equipment and types `filter` names whose event time is at or after `since`.
    func events(occurredSince since: Timestamp, _ filter: FeedFilter) async throws -> [FeedEvent]

    /// Events of the equipment and types `filter` names whose event time is in `[from, before)`.
    func events(occurredFrom from: Timestamp, before: Timestamp, _ filter: FeedFilter) async throws -> [FeedEvent]

    /// One event by its key, if stored.
    func event(edge: String, bootEpoch: Int64, seq: Int64) async throws -> FeedEvent?

    /// Each edge incarnation's clock offset, keyed `edge:boot_epoch`: central receive time minus
    /// edge receive time, in ms, minimised over its live (non-historical) events (transit only adds),
    /// learned at every commit.
    func edgeClockOffsets() async throws -> [String: Int64]

    /// Releases connections; the store is not used after.
    func close() async
}

/// What one committed batch did.
public struct IngestOutcome: Sendable, Hashable {
    public var inserted: Int
    public var duplicates: Int

    public init(inserted: Int, duplicates: Int) {
        self.inserted = inserted
        self.duplicates = duplicates
    }
}
