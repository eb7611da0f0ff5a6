import CentralIngest
import MillwrightCore
import Reconciliation

/// The postings outbox: changes to send, each once per idempotency key, claimed for delivery,
/// moved through `PostingLifecycle` with an audit trail.
///
/// Why its own protocol: it is the one concern with a state machine and claims across replicas;
/// its contract (PostingsStoreContractTests, PostingClaimTests) is the heart of "exactly once".
public protocol PostingOutbox: Sendable {
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
    /// The posting with this idempotency key (what a receiver's answer names).
    func posting(key: String) async throws -> Posting?
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

    /// Unfinished claims on postings per replica, ordered by holder (none on a single-process store).
    func claims() async throws -> [PostingClaims]
    /// Gives up this process's claims on postings it has not finished (a clean stop), so another
    /// replica takes them at once instead of after `store.claim_ttl`. Returns how many.
    func releaseClaims() async throws -> Int
}

extension PostingOutbox {
    public func postings() async throws -> [Posting] { try await postings(status: nil, kind: nil) }
    public func postings(status: Posting.Status) async throws -> [Posting] { try await postings(status: status, kind: nil) }

    /// An operator's replay: a dead (or any unacknowledged) posting back in the queue, optionally
    /// with an edited payload (checked against its kind's type first); the key stays, and the edit
    /// is audited.
    public func replay(id: Int64, payload: String?, operator actor: String, now: Timestamp) async throws -> Posting {
        try await record(.replay(payload: payload, actor: actor), posting: id, claim: nil, now: now)
    }

    @discardableResult
    public func apply(postings: [NewPosting], reviews: [ReviewChange] = [], now: Timestamp) async throws -> [Int64] {
        try await apply(postings: postings, reviews: reviews, cursor: nil, now: now)
    }
}
