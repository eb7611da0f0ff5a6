import Foundation
import MillwrightCore

/// What planning gets every `planning.every`: per order, planned against counted; per equipment,
/// the running order, the day's downtime and what was counted for no order.
///
/// Why typed: it is the planning system's contract, written as a file and sent to a target; its
/// fields are documented in central/README.md and must not drift with the code building it.
public struct PlanningSnapshot: PostingPayload, Hashable {
    public struct Order: Codable, Sendable, Hashable {
        public var orderID: Int64
        public var number: String
        public var reference: String
        /// The ERP's state of the production.
        public var state: OrderState
        public var product: String
        public var plannedQuantity: Double
        public var producedPosted: Double
        public var producedDerived: Double
        public var scrapDerived: Double
        public var inReview: Double
        /// With `mes.confirmations`: the yield the MES confirmed (the source of record; `produced_derived`
        /// is then the machines' check).
        public var producedConfirmed: Double?
        /// With `mes.confirmations`, once the order ended: operations whose two figures differ beyond `mes.tolerance`.
        public var discrepancies: [Discrepancy]?

        enum CodingKeys: String, CodingKey {
            case number, reference, state, product, discrepancies
            case orderID = "order_id", plannedQuantity = "planned_quantity", producedPosted = "produced_posted"
            case producedDerived = "produced_derived", scrapDerived = "scrap_derived", inReview = "in_review"
            case producedConfirmed = "produced_confirmed"
        }
    }

    public struct Equipment: Codable, Sendable, Hashable {
        public var equipment: String
        public var workCenter: String
        public var downtimeMinutes24h: Double
        /// Counted but owed to no order yet (until an operator assigns one).
        public var unassignedYield: Double
        public var unassignedScrap: Double
        public var runningOrder: String?
        public var since: Timestamp?

        enum CodingKeys: String, CodingKey {
            case equipment, since
            case workCenter = "work_center", downtimeMinutes24h = "downtime_minutes_24h"
            case unassignedYield = "unassigned_yield", unassignedScrap = "unassigned_scrap", runningOrder = "running_order"
        }
    }

    public var generatedAt: Timestamp
    public var orders: [Order]
    public var equipment: [Equipment]

    enum CodingKeys: String, CodingKey {
        case orders, equipment
        case generatedAt = "generated_at"
    }

    public static var knownFields: Set<String>? { ["generated_at", "orders", "equipment"] }

    public func check(kind: PostingKind, key: String) throws(PayloadError) {
        guard kind == .planningSnapshot else {
            throw .invalid(kind, field: "kind", reason: "is not a planning snapshot")
        }
        for (i, o) in orders.enumerated() {
            for (field, n) in [("planned_quantity", o.plannedQuantity), ("produced_posted", o.producedPosted),
                               ("produced_derived", o.producedDerived), ("scrap_derived", o.scrapDerived), ("in_review", o.inReview)]
            where !n.isFinite {
                throw .invalid(kind, field: "orders[\(i)].\(field)", reason: "must be a finite number")
            }
        }
    }

    /// The file and body form: indented, sorted keys.
    public func text() throws(PayloadError) -> String {
        try encoded(pretty: true)
    }
}
