import Foundation
import Reconciliation

/// Compares the MES's confirmed yield and scrap with the machines' counts per order, operation and
/// kind, once the order has ended (closed in the ERP, or no longer running on any equipment):
/// while it runs, the two are expected to differ by what is not confirmed yet.
///
/// Why pure: the rule (which orders, which figures, the tolerance) is the contract planning and an
/// operator rely on; it is tested case by case without a store.
public enum ConfirmationCheck {
    public struct Operation: Sendable, Hashable {
        public var orderID: Int64
        public var workID: Int64?
        public var kind: QuantityKind
        public init(orderID: Int64, workID: Int64?, kind: QuantityKind) {
            self.orderID = orderID
            self.workID = workID
            self.kind = kind
        }
    }

    /// Only orders the MES confirmed something for are checked; `ended` are the orders whose
    /// figures are final.
    public static func discrepancies(confirmed: [Operation: Double], counted: [Operation: Double], ended: Set<Int64>,
                                     tolerance: Double) -> [Discrepancy] {
        compare(confirmed: confirmed, counted: counted, ended: ended, tolerance: tolerance).discrepancies
    }

    /// The comparisons made (order, operation and kind; the base of a discrepancy rate) and the
    /// discrepancies among them.
    public static func compare(confirmed: [Operation: Double], counted: [Operation: Double], ended: Set<Int64>,
                               tolerance: Double) -> (compared: [Operation], discrepancies: [Discrepancy]) {
        var out: [Discrepancy] = []
        var compared: [Operation] = []
        let confirmedOrders = Set(confirmed.keys.map(\.orderID))
        for order in confirmedOrders.intersection(ended).sorted() {
            for kind in [QuantityKind.yield, .scrap] {
                let mes = confirmed.filter { $0.key.orderID == order && $0.key.kind == kind }
                let machines = counted.filter { $0.key.orderID == order && $0.key.kind == kind }
                // Counts without a work cannot be matched to an operation: compare the order's totals.
                let byWork = !machines.keys.contains { $0.workID == nil }
                let works: [Int64?] = byWork ? Array(Set(mes.keys.map(\.workID)).union(machines.keys.map(\.workID))).sorted { ($0 ?? 0) < ($1 ?? 0) } : [nil]
                for work in works {
                    let c = mes.filter { !byWork || $0.key.workID == work }.values.reduce(0, +)
                    let m = machines.filter { !byWork || $0.key.workID == work }.values.reduce(0, +)
                    compared.append(Operation(orderID: order, workID: work, kind: kind))
                    if abs(m - c) > tolerance * c + 1e-9 {
                        out.append(Discrepancy(orderID: order, workID: work, kind: kind, confirmed: c, counted: m, tolerance: tolerance))
                    }
                }
            }
        }
        return (compared, out)
    }
}
