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
