import Foundation
import MillwrightCore
import Reconciliation

/// A production order as imported from the ERP.
public struct ERPOrder: Sendable, Hashable, Codable {
    public var id: Int64
    public var number: String
    public var reference: String
    public var state: OrderState
    public var productID: Int64
    public var productCode: String
    public var quantity: Double
    public var unitID: Int64
    public var companyID: Int64
    /// The production location (inputs go to it, outputs come from it) and the warehouse's storage.
    public var productionLocationID: Int64
    public var storageLocationID: Int64
    /// Where scrap goes (the warehouse's waste location).
    public var scrapLocationID: Int64?
    /// Planned input quantity per material code, and each material's product and unit ids.
    public var plannedInputs: [String: PlannedInput]
    public var works: [ERPWork]
    /// The company's currency and the product's cost: Tryton prices an output move with them.
    public var currencyID: Int64?
    public var unitCost: Double?

    public struct PlannedInput: Sendable, Hashable, Codable {
        public var productID: Int64
        public var unitID: Int64
        public var quantity: Double
        public init(productID: Int64, unitID: Int64, quantity: Double) {
            self.productID = productID
            self.unitID = unitID
            self.quantity = quantity
        }
    }

    public init(id: Int64, number: String, reference: String, state: OrderState, productID: Int64, productCode: String,
                quantity: Double, unitID: Int64, companyID: Int64, productionLocationID: Int64, storageLocationID: Int64,
                scrapLocationID: Int64?, plannedInputs: [String: PlannedInput], works: [ERPWork],
                currencyID: Int64? = nil, unitCost: Double? = nil) {
        self.id = id
        self.number = number
        self.reference = reference
        self.state = state
        self.productID = productID
        self.productCode = productCode
        self.quantity = quantity
        self.unitID = unitID
        self.companyID = companyID
        self.productionLocationID = productionLocationID
        self.storageLocationID = storageLocationID
        self.scrapLocationID = scrapLocationID
        self.plannedInputs = plannedInputs
        self.works = works
        self.currencyID = currencyID
        self.unitCost = unitCost
    }

    public var isClosed: Bool { state.isClosed }
}

/// An operation of an order on a work center (Tryton `production.work`).
public struct ERPWork: Sendable, Hashable, Codable {
    public var id: Int64
    /// The routing operation's name as the ERP shows it (what an MES `operation` must equal).
    public var operation: String
    /// The work center's full path as the ERP shows it ("Line 2 / Press 2"), for people.
    public var workCenter: String
    /// The work center's identity: what equipment is matched by.
    public var workCenterID: Int64?
    /// The mapped equipment whose `work_center` is this work's center or one above it (set at import).
    public var equipment: [String]
    public var state: String

    public init(id: Int64, operation: String, workCenter: String, workCenterID: Int64? = nil, equipment: [String] = [], state: String) {
        self.id = id
        self.operation = operation
        self.workCenter = workCenter
        self.workCenterID = workCenterID
        self.equipment = equipment
        self.state = state
    }

    enum CodingKeys: String, CodingKey { case id, operation, workCenter, workCenterID, equipment, state }

    // Orders stored before identities were imported have neither field.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(Int64.self, forKey: .id)
        operation = try c.decode(String.self, forKey: .operation)
        workCenter = try c.decode(String.self, forKey: .workCenter)
        workCenterID = try c.decodeIfPresent(Int64.self, forKey: .workCenterID)
        equipment = try c.decodeIfPresent([String].self, forKey: .equipment) ?? []
        state = try c.decode(String.self, forKey: .state)
    }
}

/// One outbound change: a row of the postings outbox.
public struct Posting: Sendable, Hashable, Codable {
    public enum Status: String, Sendable, Codable, CaseIterable {
        case pending, sent, acked, dead
        /// The receiver answered that it took the change (an MES accepting an order release); final.
        case confirmed

        /// The target has the change (acknowledged, or also confirmed by the receiver).
        public var isDelivered: Bool { self == .acked || self == .confirmed }
    }

    public var id: Int64
    /// Unique per change: a retry, a resend or a replay reuses it, so the target sees one change.
    public var idempotencyKey: String
    public var target: String
    /// What to do: yield, scrap, consumption (quantity lines), maintenance_notification, quality_hold,
    /// escalation, planning_exception (one per event); the payload is that kind's type, as JSON.
    public var kind: PostingKind
    /// The ledger line a quantity posting settles ("order/work/kind/material/bucket"), else "".
    public var line: String
    public var orderID: Int64?
    public var quantity: Double
    /// The canonical payload (JSON object) a connector turns into its target's call.
    public var payload: String
    /// The events this posting cites: the trace back to edges.
    public var sources: [String]
    public var status: Status
    public var attempts: Int
    public var nextAttemptAt: Timestamp
    public var documentRef: String?
    public var lastError: String?
    public var createdAt: Timestamp
    public var updatedAt: Timestamp
    /// The claim this posting was handed out under by `duePostings` on a shared store (nil on a
    /// single-process store, and when read rather than claimed); the dispatcher writes its outcome
    /// under it.
    public var claim: PostingClaim?

    public init(id: Int64, idempotencyKey: String, target: String, kind: PostingKind, line: String, orderID: Int64?, quantity: Double,
                payload: String, sources: [String], status: Status, attempts: Int, nextAttemptAt: Timestamp, documentRef: String?,
                lastError: String?, createdAt: Timestamp, updatedAt: Timestamp, claim: PostingClaim? = nil) {
        self.id = id
        self.idempotencyKey = idempotencyKey
        self.target = target
        self.kind = kind
        self.line = line
        self.orderID = orderID
        self.quantity = quantity
        self.payload = payload
        self.sources = sources
        self.status = status
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.documentRef = documentRef
        self.lastError = lastError
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.claim = claim
    }

    /// The posting after `change`, made at `now`.
    public func applying(_ change: PostingLifecycle.Change, now: Timestamp) -> Posting {
        var p = self
        p.status = change.status
        p.attempts = change.attempts
        p.nextAttemptAt = change.nextAttemptAt
        p.payload = change.payload
        p.documentRef = change.documentRef
        p.lastError = change.lastError
        p.updatedAt = now
        if change.endsClaim { p.claim = nil }
        return p
    }
}

/// A quantity an operator must look at (late data for a closed order, a reduction after posting).
public struct ReviewItem: Sendable, Hashable, Codable {
    public var line: String
    public var orderID: Int64
    public var kind: String
    public var quantity: Double
    public var reason: String
    public var sources: [String]
    public var firstSeen: Timestamp
    public var updatedAt: Timestamp

    public init(line: String, orderID: Int64, kind: String, quantity: Double, reason: String, sources: [String], firstSeen: Timestamp,
                updatedAt: Timestamp) {
        self.line = line
        self.orderID = orderID
        self.kind = kind
        self.quantity = quantity
        self.reason = reason
        self.sources = sources
        self.firstSeen = firstSeen
        self.updatedAt = updatedAt
    }
}

/// Derived versus posted, per order: the figure that says the ERP matches the machines.
public struct LedgerEntry: Sendable, Hashable, Codable {
    public var orderID: Int64
    public var kind: String
    public var material: String
    /// What the events say.
    public var derived: Double
    /// Acknowledged by the target (for consumption: including the planned inputs already in the ERP).
    public var posted: Double
    /// Posted but not (yet) acknowledged: pending, in flight or dead letters awaiting replay.
    public var inFlight: Double
    public var inReview: Double
    /// derived - posted - inFlight - inReview: derived but not posted yet (its bucket or grace is still
    /// open, or the order still runs). Zero once everything is due: then the books balance.
    public var open: Double
    /// With `mes.confirmations`: what the MES confirmed (yield and scrap; booked or on its way). The
    /// machines' count is then `derived`, the check, and nothing of it is open.
    public var confirmed: Double = 0
    /// With `mes.confirmations`, once the order ended: the operations where the machines' count and
    /// the MES's figure differ beyond `mes.tolerance`.
    public var discrepancies: [Discrepancy] = []
    /// With `mes.confirmations`, once the order ended: how many operations were compared.
    public var compared: Int = 0

    public var isBalanced: Bool { open == 0 && inFlight == 0 }
}

/// Counts no order covers, as an operator sees them: the pass's span (one piece of equipment, one
/// gap between its assignments, what was counted there and when) and since when it is known.
/// `millwright-central assign` gives them an order.
public struct UnassignedItem: Sendable, Hashable, Codable {
    public var span: UnassignedSpan
    public var firstSeen: Timestamp
    public var updatedAt: Timestamp

    public init(span: UnassignedSpan, firstSeen: Timestamp, updatedAt: Timestamp) {
        self.span = span
        self.firstSeen = firstSeen
        self.updatedAt = updatedAt
    }
}
