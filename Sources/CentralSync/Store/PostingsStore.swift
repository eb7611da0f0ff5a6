import CentralIngest
import MillwrightCore
import Reconciliation

/// What the reconcile pass produces and the dispatcher works through: the postings outbox with its
/// audit trail, the review queue, unassigned production, the event-feed cursors and each target's
/// health.
///
/// Why a protocol: several replicas on one PostgreSQL must claim postings without sending one
/// twice, and the embedded SQLite file must behave the same for one process; both implement this.
public protocol PostingsStore: Sendable {
    /// Where the reader `name` is in the event feed.
    func cursor(_ name: String) async throws -> FeedPosition

    /// Adds postings (a key already there is skipped), sets or clears review items and moves a
    /// cursor, in one transaction. Returns the ids of the postings added.
    @discardableResult
    func apply(postings: [NewPosting], reviews: [ReviewChange], cursor: (name: String, value: FeedPosition)?, now: Timestamp) async throws -> [Int64]

    /// Per line: the quantity of every posting made for it (any status), the events they cite, how many.
    func postedLines() async throws -> (totals: [LineKey: Double], sources: [LineKey: Set<EventKey>], counts: [LineKey: Int])

    /// Postings due for delivery: pending ones whose time has come, and `sent` ones left by a crash.
    func duePostings(now: Timestamp, limit: Int) async throws -> [Posting]

    func postings(status: Posting.Status?, kind: PostingKind?) async throws -> [Posting]
    func posting(id: Int64) async throws -> Posting?
    func posting(documentRef: String) async throws -> [Posting]
    /// Postings that cite an event.
    func postings(citing key: EventKey) async throws -> [Posting]

    /// Applies a transition of the posting state machine (`PostingLifecycle` decides; the backend
    /// persists its decision and the audit entries in one transaction) and returns the posting as
    /// it now is. `claim` is the one `duePostings` handed out with the posting (`Posting.claim`;
    /// nil for an operator's replay, and on a single-process store): a write under a claim another
    /// replica has taken over since is refused with `PostingRefusal.claimLost`, and every refusal
    /// is a `PostingRefusal`.
    @discardableResult
    func record(_ transition: PostingTransition, posting id: Int64, claim: PostingClaim?, now: Timestamp) async throws -> Posting
    func audit(postingID: Int64) async throws -> [PostingAudit]

    func reviewItems() async throws -> [ReviewItem]

    /// Replaces the unassigned spans with this pass's, keeping when each was first seen.
    func replaceUnassigned(_ spans: [UnassignedSpan], now: Timestamp) async throws
    func unassigned() async throws -> [UnassignedItem]

    func recordTargetHealth(_ target: String, breaker: String, failures: Int, success: Bool, error: String?, now: Timestamp) async throws
    func targetHealth() async throws -> [TargetHealth]

    /// Unfinished claims on postings per replica, ordered by holder (none on a single-process store).
    func claims() async throws -> [PostingClaims]
    /// Gives up this process's claims on postings it has not finished (a clean stop), so another
    /// replica takes them at once instead of after `store.claim_ttl`. Returns how many.
    func releaseClaims() async throws -> Int
}

extension PostingsStore {
    public func postings() async throws -> [Posting] { try await postings(status: nil, kind: nil) }
    public func postings(status: Posting.Status) async throws -> [Posting] { try await postings(status: status, kind: nil) }

    /// An operator's replay: a dead (or any unacknowledged) posting back in the queue, optionally
    /// with an edited payload; the key stays, and the edit is audited.
    public func replay(id: Int64, payload: String?, operator actor: String, now: Timestamp) async throws -> Posting {
        try await record(.replay(payload: payload, actor: actor), posting: id, claim: nil, now: now)
    }

    @discardableResult
    public func apply(postings: [NewPosting], reviews: [ReviewChange] = [], now: Timestamp) async throws -> [Int64] {
        try await apply(postings: postings, reviews: reviews, cursor: nil, now: now)
    }
}

/// The synchronisation's whole state: master data, the pass's outputs, and who runs the jobs.
public typealias SyncState = MasterDataStore & PostingsStore & LeaseStore & RetentionNeeds

/// A target's health as the dispatcher last recorded it.
public struct TargetHealth: Sendable, Hashable {
    public var target: String
    public var breaker: String
    public var failures: Int
    public var lastSuccess: Timestamp?
    public var lastError: String?

    public init(target: String, breaker: String, failures: Int, lastSuccess: Timestamp?, lastError: String?) {
        self.target = target
        self.breaker = breaker
        self.failures = failures
        self.lastSuccess = lastSuccess
        self.lastError = lastError
    }
}
