import Foundation
import MillwrightCore

/// The posting state machine, in one place: which transitions a posting in each state allows, what
/// each changes, and the audit entries it leaves. Backends only read the row, ask `decide`, and
/// persist the answer in the same transaction.
///
/// Why it is pure and shared: the rules (a posting acknowledged is final; a dead letter waits for an
/// operator; a replay keeps the key and audits an edit) used to be written once per backend, and
/// any difference between them was a bug one backend had and the other did not.
///
///     pending --attempt--> sent --acknowledge--> acked (final, unless the receiver answers:)
///        ^                  |  \--retry--------> pending (later)     |--answer accepted--> confirmed (final)
///        |                  \----deadLetter----> dead <--answer rejected--/
///        |                                        \--replay--> pending
///        +-- replay (from pending or sent, too) ------------------/
public enum PostingLifecycle {
    /// What the backend writes: the posting's new fields and the audit entries to append.
    public struct Change: Sendable, Hashable {
        public var status: Posting.Status
        public var attempts: Int
        public var nextAttemptAt: Timestamp
        public var payload: String
        public var documentRef: String?
        public var lastError: String?
        /// The transition ends the posting's claim (an outcome or a replay; not an attempt).
        public var endsClaim: Bool
        public var audit: [AuditEntry]
    }

    /// An entry the transition appends to the posting's audit trail.
    public struct AuditEntry: Sendable, Hashable {
        public var actor: String
        public var action: PostingAuditAction
        public var detail: String

        public init(_ actor: String, _ action: PostingAuditAction, _ detail: String) {
            self.actor = actor
            self.action = action
            self.detail = detail
        }
    }

    /// The audit entry of a posting the reconciliation adds (every new posting starts pending).
    public static func created(_ p: NewPosting) -> AuditEntry {
        AuditEntry(dispatcherActor, .created, "\(p.kind) \(p.quantity) for line \(p.line)")
    }

    /// Who the dispatcher records as the actor of its own transitions.
    public static let dispatcherActor = "millwright"

    /// The change `transition` makes to `posting` at `now`, or why it is refused.
    public static func decide(_ transition: PostingTransition, on posting: Posting, now: Timestamp) throws(PostingRefusal) -> Change {
        var change = Change(status: posting.status, attempts: posting.attempts, nextAttemptAt: posting.nextAttemptAt, payload: posting.payload,
                            documentRef: posting.documentRef, lastError: posting.lastError, endsClaim: false, audit: [])
        switch transition {
        case .attempt:
            try requireDeliverable(posting, transition)
            change.status = .sent
            change.attempts = posting.attempts + 1
        case .acknowledge(let ref, let note):
            try requireDeliverable(posting, transition)
            change.status = .acked
            change.documentRef = ref
            change.lastError = nil
            change.endsClaim = true
            change.audit = [AuditEntry(dispatcherActor, .acked, "\(ref) \(note)")]
        case .retry(let error, let at):
            try requireDeliverable(posting, transition)
            change.status = .pending
            change.nextAttemptAt = at
            change.lastError = error
            change.endsClaim = true
        case .deadLetter(let error):
            try requireDeliverable(posting, transition)
            change.status = .dead
            change.lastError = error
            change.endsClaim = true
            change.audit = [AuditEntry(dispatcherActor, .deadLettered, error)]
        case .answer(let accepted, let reason, let actor):
            // Only a delivered posting can be answered, and only once (an answer twice is refused:
            // a receiver's retry of its answer changes nothing).
            guard posting.status == .acked else { throw .notAwaitingAnswer(posting.id, status: posting.status) }
            if accepted {
                change.status = .confirmed
                change.audit = [AuditEntry(actor, .accepted, reason)]
            } else {
                change.status = .dead
                change.lastError = "rejected by \(actor): \(reason)"
                change.audit = [AuditEntry(actor, .rejected, reason)]
            }
        case .replay(let payload, let actor):
            guard posting.status != .acked && posting.status != .confirmed else {
                throw .alreadyAcknowledged(posting.id, documentRef: posting.documentRef)
            }
            if let payload {
                // Checked against the kind's type now, not found wrong by the target later.
                do { try posting.kind.validate(payload: payload, key: posting.idempotencyKey) } catch { throw .payloadInvalid(error) }
                change.payload = payload
                change.audit.append(AuditEntry(actor, .payloadEdited, "before: \(posting.payload)\nafter: \(payload)"))
            }
            change.status = .pending
            change.attempts = 0
            change.nextAttemptAt = now
            change.endsClaim = true
            change.audit.append(AuditEntry(actor, .replayed,
                                 "from \(posting.status.rawValue) after \(posting.attempts) attempts; last error: \(posting.lastError ?? "-")"))
        }
        return change
    }

    /// The dispatcher's transitions apply to a posting still in delivery (pending or sent): an
    /// acknowledged one is final, a dead one waits for an operator's replay.
    static func requireDeliverable(_ posting: Posting, _ transition: PostingTransition) throws(PostingRefusal) {
        guard posting.status == .pending || posting.status == .sent else {
            throw .notInDelivery(posting.id, status: posting.status, transition: transition.name)
        }
    }

    /// Whether `claim` (what the writer was handed by `duePostings`) still holds `current` (what the
    /// store says now): a writer without a claim (a single-process store, an operator) always may;
    /// one with a claim only while the row still names it, holder and generation.
    public static func claimHolds(_ claim: PostingClaim?, current: PostingClaim?) -> Bool {
        guard let claim else { return true }
        return current == claim
    }
}

/// A transition of a posting: the dispatcher's (attempt, acknowledge, retry, dead letter) and an
/// operator's (replay).
public enum PostingTransition: Sendable, Hashable {
    /// An attempt starts, before the call: a crash during it leaves the posting `sent`, and the next
    /// attempt looks the change up at the target first.
    case attempt
    case acknowledge(documentRef: String, note: String)
    /// Failed; due again at `at`.
    case retry(error: String, at: Timestamp)
    /// Failed for the last time: a dead letter for an operator.
    case deadLetter(error: String)
    /// Back in the queue with its key, optionally with an edited payload.
    case replay(payload: String?, actor: String)
    /// The receiver's answer to a delivered posting (an MES accepting or rejecting an order
    /// release): accepted confirms it, rejected makes it a dead letter with the reason.
    case answer(accepted: Bool, reason: String, actor: String)

    public var name: String {
        switch self {
        case .attempt: "attempt"
        case .acknowledge: "acknowledge"
        case .retry: "retry"
        case .deadLetter: "dead-letter"
        case .replay: "replay"
        case .answer: "answer"
        }
    }
}

/// A claim on a posting, as `duePostings` hands it out on a shared store: the replica that holds it
/// and the claim's generation (raised by every claim), so a holder that paused past its claim and
/// lost it to another replica cannot write over what that one did.
public struct PostingClaim: Sendable, Hashable, Codable {
    public var holder: String
    public var generation: Int64

    public init(holder: String, generation: Int64) {
        self.holder = holder
        self.generation = generation
    }
}

/// The audit trail's actions, as stored in `posting_audit.action`.
public enum PostingAuditAction: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    case created
    case acked
    case deadLettered = "dead-lettered"
    case payloadEdited = "payload-edited"
    case replayed
    /// The receiver accepted the change (detail: its reason or note).
    case accepted
    /// The receiver rejected the change (detail: its reason).
    case rejected

    public var description: String { rawValue }
}

/// Why a posting's transition was refused: the same on every backend.
public enum PostingRefusal: Error, Hashable, CustomStringConvertible {
    case noSuchPosting(Int64)
    case alreadyAcknowledged(Int64, documentRef: String?)
    /// An edited payload that does not fit its kind's type (named field, reason).
    case payloadInvalid(PayloadError)
    /// A dispatcher transition on a posting no longer in delivery (acknowledged, or dead).
    case notInDelivery(Int64, status: Posting.Status, transition: String)
    /// The writer's claim was taken over by another replica (it paused past `store.claim_ttl`).
    case claimLost(Int64, holder: String, now: PostingClaim?)
    /// An answer to a posting that is not delivered and unanswered (not sent yet, answered, dead).
    case notAwaitingAnswer(Int64, status: Posting.Status)

    public var description: String {
        switch self {
        case .noSuchPosting(let id): "no posting \(id): list them with `millwright-central postings`"
        case .alreadyAcknowledged(let id, let ref): "posting \(id) was acknowledged as \(ref ?? "?"); there is nothing to replay"
        case .payloadInvalid(let why): "the edited payload is refused, nothing changed: \(why)"
        case .notInDelivery(let id, let status, let t): "posting \(id) is \(status.rawValue): a \(t) applies only to a pending or sent posting"
        case .notAwaitingAnswer(let id, let status):
            "posting \(id) is \(status.rawValue): only a delivered (acked), unanswered posting can be accepted or rejected"
        case .claimLost(let id, let holder, let now):
            "posting \(id): the claim of \(holder) was taken over by \(now.map { "\($0.holder) (claim \($0.generation))" } ?? "nobody (released)"); its write is refused"
        }
    }
}
