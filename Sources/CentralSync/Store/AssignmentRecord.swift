import MillwrightCore
import Reconciliation

/// One recorded start or stop of an order on equipment, as received: what `master-data` shows and
/// the assignment timeline is built from. Why its own type: every sync backend returns it.
public struct AssignmentRecord: Sendable, Hashable {
    public var equipment: String
    public var orderRef: String
    public var operation: String
    public var action: AssignmentChange.Action
    public var at: Timestamp
    public var source: AssignmentSource
    public var receivedAt: Timestamp
    public var `operator`: String?

    public init(equipment: String, orderRef: String, operation: String, action: AssignmentChange.Action, at: Timestamp, source: AssignmentSource,
                receivedAt: Timestamp, operator actor: String?) {
        self.equipment = equipment
        self.orderRef = orderRef
        self.operation = operation
        self.action = action
        self.at = at
        self.source = source
        self.receivedAt = receivedAt
        self.operator = actor
    }
}
