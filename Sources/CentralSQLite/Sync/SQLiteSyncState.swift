import CentralIngest
import CentralSync
import MillwrightCore
import Reconciliation

/// The synchronisation's seams (`MasterDataStore`, `PostingsStore`) on the central's SQLite file.
///
/// Why a wrapper: `SyncStore` blocks on file I/O, so its calls run on a dispatch queue of their own,
/// never on the cooperative thread pool the services run on.
public final class SQLiteSyncState: SyncState {
    public let database: SyncStore
    let queue = BlockingQueue(label: "millwright.central.sqlite-sync")

    public init(_ database: SyncStore) {
        self.database = database
    }

    func run<T: Sendable>(_ work: @escaping @Sendable (SyncStore) throws -> T) async throws -> T {
        let database = self.database
        return try await queue.run { try work(database) }
    }

    // MARK: MasterDataStore

    public func upsertOrders(_ orders: [ERPOrder], now: Timestamp) async throws { try await run { try $0.upsertOrders(orders, now: now) } }
    public func orderImportTimes() async throws -> [Int64: Timestamp] { try await run { try $0.orderImportTimes() } }
    public func orders() async throws -> [Int64: ERPOrder] { try await run { try $0.orders() } }

    @discardableResult
    public func recordAssignmentChange(equipment: String, orderRef: String, operation: String, action: AssignmentChange.Action,
                                       at: Timestamp, source: AssignmentSource, operator actor: String?, now: Timestamp) async throws -> Bool {
        try await run {
            try $0.recordAssignmentChange(equipment: equipment, orderRef: orderRef, operation: operation, action: action, at: at,
                                          source: source, operator: actor, now: now)
        }
    }

    public func assignmentChanges() async throws -> [AssignmentRecord] { try await run { try $0.assignmentChanges() } }

    // MARK: PostingsStore

    public func cursor(_ name: String) async throws -> FeedPosition { try await run { try $0.cursor(name) } }

    @discardableResult
    public func apply(postings: [NewPosting], reviews: [ReviewChange], cursor: (name: String, value: FeedPosition)?,
                      now: Timestamp) async throws -> [Int64] {
        let cursorName = cursor?.name, cursorValue = cursor?.value
        return try await run { db in
            try db.apply(postings: postings, reviews: reviews, cursor: cursorName.flatMap { n in cursorValue.map { (n, $0) } }, now: now)
        }
    }

    public func postedLines() async throws -> (totals: [LineKey: Double], sources: [LineKey: Set<EventKey>], counts: [LineKey: Int]) {
        let r = try await run { db in
            let p = try db.postedLines()
            return PostedLines(totals: p.totals, sources: p.sources, counts: p.counts)
        }
        return (r.totals, r.sources, r.counts)
    }

    struct PostedLines: Sendable {
        var totals: [LineKey: Double]
        var sources: [LineKey: Set<EventKey>]
        var counts: [LineKey: Int]
    }

    public func duePostings(now: Timestamp, limit: Int) async throws -> [Posting] { try await run { try $0.duePostings(now: now, limit: limit) } }
    public func postings(status: Posting.Status?, kind: PostingKind?) async throws -> [Posting] {
        try await run { try $0.postings(status: status, kind: kind) }
    }
    public func posting(id: Int64) async throws -> Posting? { try await run { try $0.posting(id: id) } }
    public func posting(key: String) async throws -> Posting? { try await run { try $0.posting(key: key) } }
    public func posting(documentRef: String) async throws -> [Posting] { try await run { try $0.posting(documentRef: documentRef) } }
    public func postings(citing key: EventKey) async throws -> [Posting] { try await run { try $0.postings(citing: key) } }
    @discardableResult
    public func record(_ transition: PostingTransition, posting id: Int64, claim: PostingClaim?, now: Timestamp) async throws -> Posting {
        try await run { try $0.record(transition, posting: id, now: now) }
    }
    public func audit(postingID: Int64) async throws -> [PostingAudit] { try await run { try $0.audit(postingID: postingID) } }
    public func reviewItems() async throws -> [ReviewItem] { try await run { try $0.reviewItems() } }
    public func replaceUnassigned(_ spans: [UnassignedSpan], now: Timestamp) async throws {
        try await run { try $0.replaceUnassigned(spans, now: now) }
    }
    public func unassigned() async throws -> [UnassignedItem] { try await run { try $0.unassigned() } }
    public func recordTargetHealth(_ target: String, breaker: BreakerState, failures: Int, success: Bool, error: String?, now: Timestamp) async throws {
        try await run { try $0.recordTargetHealth(target, breaker: breaker, failures: failures, success: success, error: error, now: now) }
    }
    public func targetHealth() async throws -> [TargetHealth] { try await run { try $0.targetHealth() } }
    /// One process delivers everything from a SQLite file: there is nobody to claim against.
    public func claims() async throws -> [PostingClaims] { [] }

    /// One central process per file: the only other writer is an operator's command, which the
    /// dispatcher's poll finds.
    public func watchArrivals(_ arrived: @escaping @Sendable () -> Void) async throws {}
    public func releaseClaims() async throws -> Int { 0 }

    // MARK: LeaseStore

    public func acquire(_ name: String, holder: String, ttl: Duration) async throws -> Lease? {
        try await run { try $0.acquire(name, holder: holder, ttl: ttl) }
    }
    public func release(_ name: String, holder: String) async throws { try await run { try $0.release(name, holder: holder) } }
    public func leases() async throws -> [Lease] { try await run { try $0.leases() } }
}

extension SQLiteSyncState {
    public func citedEventKeys() async throws -> Set<String> { try await run { try $0.citedEventKeys() } }
}
