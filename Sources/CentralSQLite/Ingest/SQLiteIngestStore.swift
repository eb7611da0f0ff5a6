import CentralIngest
import MillwrightCore

/// The ingest seam on the embedded SQLite file (`CentralStore`).
///
/// Why a wrapper: `CentralStore`'s calls block on file I/O, so they run on one dispatch queue of
/// their own, never on the cooperative thread pool the ingest service's task runs on.
public final class SQLiteIngestStore: IngestStore {
    public let database: CentralStore
    let queue = BlockingQueue(label: "millwright.central.sqlite-ingest")

    public init(_ database: CentralStore) {
        self.database = database
    }

    public convenience init(path: String) throws(CentralStore.StoreError) {
        self.init(try CentralStore(path: path))
    }

    public var location: String { database.path }

    func run<T: Sendable>(_ work: @escaping @Sendable (CentralStore) throws -> T) async throws -> T {
        let database = self.database
        return try await queue.run { try work(database) }
    }

    public func commit(_ batches: [ValidBatch], rejected: [RejectedBatch], now: Timestamp) async throws -> [IngestOutcome] {
        try await run { try $0.commit(batches, rejected: rejected, now: now) }.map { IngestOutcome(inserted: $0.inserted, duplicates: $0.duplicates) }
    }

    public func recordStatus(edge: String, site: String, json: String, at: Timestamp) async throws {
        try await run { try $0.recordStatus(edge: edge, site: site, json: json, at: at) }
    }

    public func edges() async throws -> [EdgeRecord] { try await run { try $0.edges() } }
    public func eventCount() async throws -> Int { try await run { try $0.eventCount() } }
    public func rejectedByReason() async throws -> [String: Int] { try await run { try $0.rejectedByReason() } }
    public func events(after position: FeedPosition, _ filter: FeedFilter, limit: Int) async throws -> [FeedEvent] {
        try await run { try $0.events(after: position.row, filter, limit: limit) }
    }

    public func events(occurredSince since: Timestamp, _ filter: FeedFilter) async throws -> [FeedEvent] {
        try await run { try $0.events(occurredSince: since, filter) }
    }

    public func events(occurredFrom from: Timestamp, before: Timestamp, _ filter: FeedFilter) async throws -> [FeedEvent] {
        try await run { try $0.events(occurredFrom: from, before: before, filter) }
    }

    public func event(edge: String, bootEpoch: Int64, seq: Int64) async throws -> FeedEvent? {
        try await run { try $0.event(edge: edge, bootEpoch: bootEpoch, seq: seq) }
    }

    public func edgeClockOffsets() async throws -> [String: Int64] { try await run { try $0.edgeClockOffsets() } }

    public func close() async {}
}
