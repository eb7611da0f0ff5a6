import CentralIngest
import MillwrightCore

/// The retention seam on the embedded SQLite file.
///
/// Why its own queue: a retention run reads and deletes for a while; on the ingest's queue it
/// would hold the edges' commits back. Here each call is one short read or one short write
/// transaction, and the ingest's commits go between them (SQLite's writer is shared, its readers are not).
public final class SQLiteRetentionStore: RetentionStore {
    public let database: CentralStore
    let queue = BlockingQueue(label: "millwright.central.sqlite-retention")

    public init(_ database: CentralStore) {
        self.database = database
    }

    public var ingestActivity: IngestActivity? { database.ingestActivity }

    func run<T: Sendable>(_ work: @escaping @Sendable (CentralStore) throws -> T) async throws -> T {
        let database = self.database
        return try await queue.run { try work(database) }
    }

    /// One table: `period` is always nil here.
    public func expiredEvents(type: String, before: Timestamp, after: RetentionPosition?, upTo: FeedPosition?, limit: Int,
                              in period: String?) async throws -> [EventRow] {
        try await run { try $0.expiredEvents(type: type, before: before, after: after, upTo: upTo, limit: limit) }
    }

    /// No periods in a SQLite file: the row path does it all.
    public func preparePeriods(_ settings: RetentionSettings, now: Timestamp) async throws {}

    public func dropExpiredPeriods(_ c: RetentionClass, before: Timestamp, keep: RetentionKeep,
                                   archive: (@Sendable ([EventRow]) throws -> Void)?) async throws -> (deleted: Int, remaining: [String]) {
        (0, [])
    }

    public func deleteEvents(_ events: [EventRow], in period: String?) async throws -> Int {
        let rows = events.map(\.row)
        return try await run { try $0.deleteEvents(rows) }
    }
    public func restore(_ events: [EventRow]) async throws -> Int { try await run { try $0.restore(events) } }
    public func oldestEvents() async throws -> [String: Timestamp] { try await run { try $0.oldestEvents() } }
    public func storeBytes() async throws -> Int64 { try await run { $0.storeBytes() } }
    public func volume() async throws -> (size: Int64, free: Int64)? {
        let v = try await run { db -> [Int64]? in db.volume().map { [$0.size, $0.free] } }
        return v.map { ($0[0], $0[1]) }
    }
    public func addHold(_ hold: RetentionHoldRange) async throws { try await run { try $0.addHold(hold) } }
    public func holds(now: Timestamp) async throws -> [RetentionHoldRange] { try await run { try $0.holds(now: now) } }
    public func recordRun(_ r: RetentionRun) async throws { try await run { try $0.recordRun(r) } }
    public func lastRun() async throws -> RetentionRun? { try await run { try $0.lastRun() } }
}
