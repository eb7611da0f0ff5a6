import Foundation
import Reconciliation

/// A difference beyond `mes.tolerance` between what the MES confirmed and what the machines counted
/// for one operation of an ended order, with both figures.
///
/// Why a value with both figures rather than a message: planning reads it from the snapshot, an
/// operator from `ledger` and `status`, and each must be able to see which side is off and by how much.
public struct Discrepancy: Sendable, Hashable, Codable, CustomStringConvertible {
    public var orderID: Int64
    /// The order's work (operation); nil when the machines' counts carry none (an order without a
    /// routing): then the order's totals are compared.
    public var workID: Int64?
    public var kind: QuantityKind
    /// The MES's figure (the source of record).
    public var confirmed: Double
    /// The machines' figure (the check).
    public var counted: Double
    /// The tolerance it exceeds, as a fraction of `confirmed`.
    public var tolerance: Double

    public init(orderID: Int64, workID: Int64?, kind: QuantityKind, confirmed: Double, counted: Double, tolerance: Double) {
        self.orderID = orderID
        self.workID = workID
        self.kind = kind
        self.confirmed = confirmed
        self.counted = counted
        self.tolerance = tolerance
    }

    enum CodingKeys: String, CodingKey {
        case kind, confirmed, counted, tolerance
        case orderID = "order_id", workID = "work_id"
    }

    public var description: String {
        let share = confirmed > 0 ? String(format: " (%+.1f%%)", (counted - confirmed) / confirmed * 100) : ""
        return "order \(orderID)\(workID.map { " work \($0)" } ?? "") \(kind.rawValue): the MES confirmed \(Self.number(confirmed)), "
            + "the machines counted \(Self.number(counted))\(share), beyond the tolerance of \(Self.number(tolerance * 100))%"
    }

    static func number(_ d: Double) -> String { d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d) }
}
