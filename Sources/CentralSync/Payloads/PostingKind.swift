import Foundation
import Reconciliation

/// What a posting asks its target to do. The raw values are the names in `routes`, the outbox's
/// `kind` column, the payload's `kind` field and the CLI output.
///
/// Why an enum with its payload type beside it: a kind used to be a string matched in four files,
/// and its payload a dictionary the connector read field by field, so a mismatch showed up only as
/// a dead letter. Adding a kind is a case here and, if it carries new fields, a payload type in
/// this folder.
public enum PostingKind: String, Sendable, Codable, CaseIterable, Hashable, CustomStringConvertible {
    /// Good parts counted for an order: an output move.
    case yield
    /// Bad parts counted for an order: an output move to a waste location.
    case scrap
    /// Material used beyond (or below) the order's plan: an input move, or a return.
    case consumption
    /// A downtime event, for a CMMS.
    case maintenanceNotification = "maintenance_notification"
    /// A limit raised on a quality signal, for an MES.
    case qualityHold = "quality_hold"
    /// An alarm of an escalating severity, for the plant.
    case escalation
    /// A downtime event, for planning.
    case planningException = "planning_exception"
    /// The periodic planning snapshot (never stored in the outbox: the next one replaces it).
    case planningSnapshot = "planning_snapshot"
    /// A released (or changed, completed, cancelled, withdrawn) production order, for the MES of
    /// each equipment it runs on; the MES answers each version.
    case orderRelease = "order_release"
    /// Time an MES confirmed for an operation (machine and labour seconds): a work cycle on the
    /// order's work (Tryton `production.work.cycle`).
    case workCycle = "work_cycle"
    /// A lot of an input material an MES confirmed an operation consumed: in Tryton the input is
    /// re-booked from the lot (the plan's quantity is not changed), which is the lot genealogy.
    case inputLot = "input_lot"
    /// An inspection result for a lot (from a lab or an MES): a failed one holds the lot in the
    /// ERP (nothing may be assigned from it), a passed one releases it.
    case lotQuality = "lot_quality"

    public var description: String { rawValue }

    /// The kinds a `routes` entry may name (the planning snapshot has its own `planning.target`).
    public static let routable: [PostingKind] = allCases.filter { $0 != .planningSnapshot }

    /// The immediate tier: one posting per event.
    public static let eventNotices: [PostingKind] = [.maintenanceNotification, .qualityHold, .escalation, .planningException]

    /// The kind that settles a ledger line of `quantity`.
    public init(_ quantity: QuantityKind) {
        switch quantity {
        case .yield: self = .yield
        case .scrap: self = .scrap
        case .consumption: self = .consumption
        }
    }

    /// The ledger's quantity kind, for the three move kinds.
    public var quantityKind: QuantityKind? {
        switch self {
        case .yield: .yield
        case .scrap: .scrap
        case .consumption: .consumption
        default: nil
        }
    }

    /// The one payload type postings of this kind carry.
    public var payloadType: any PostingPayload.Type {
        switch self {
        case .yield, .scrap, .consumption, .inputLot: MovePayload.self
        case .maintenanceNotification, .qualityHold, .escalation, .planningException: EventNoticePayload.self
        case .planningSnapshot: PlanningSnapshot.self
        case .orderRelease: OrderReleasePayload.self
        case .workCycle: WorkCyclePayload.self
        case .lotQuality: LotQualityPayload.self
        }
    }

    /// Checks a payload text (for example an operator's edit before a replay) against this kind's
    /// type: its shape, its ranges, and that it keeps the posting's kind and idempotency key.
    public func validate(payload: String, key: String) throws(PayloadError) {
        let decoded = try payloadType.decode(payload, as: self)
        try decoded.check(kind: self, key: key)
    }
}
