import MillwrightCore
import Reconciliation

/// What the synchronisation knows of the ERP and the MES: imported orders, and every start and
/// stop of an order on equipment with its source.
///
/// Why a protocol: the ERP import, the MES listener, the reconcile pass and the commands must work
/// the same on the embedded SQLite file and on a PostgreSQL shared by replicas; each backend keeps
/// its SQL in its own folder.
public protocol MasterDataStore: Sendable {
    /// Inserts or updates orders by id; the first time an order is seen closed is kept.
    func upsertOrders(_ orders: [ERPOrder], now: Timestamp) async throws

    /// When each order was last imported (changed in the ERP or first seen), by order id.
    func orderImportTimes() async throws -> [Int64: Timestamp]

    func orders() async throws -> [Int64: ERPOrder]

    /// Records a start or stop of an order (by ERP reference or number) on equipment. Idempotent:
    /// returns false when the same change was recorded before. `source` is "mes", "erp" or
    /// "operator" (`operator` then names who assigned).
    @discardableResult
    func recordAssignmentChange(equipment: String, orderRef: String, operation: String, action: AssignmentChange.Action,
                                at: Timestamp, source: AssignmentSource, operator: String?, now: Timestamp) async throws -> Bool

    /// Every recorded start and stop, by time.
    func assignmentChanges() async throws -> [AssignmentRecord]
}

extension MasterDataStore {
    @discardableResult
    public func recordAssignmentChange(equipment: String, orderRef: String, operation: String = "", action: AssignmentChange.Action,
                                       at: Timestamp, source: AssignmentSource, now: Timestamp) async throws -> Bool {
        try await recordAssignmentChange(equipment: equipment, orderRef: orderRef, operation: operation, action: action, at: at,
                                         source: source, operator: nil, now: now)
    }
}
