import MillwrightCore
import Reconciliation

/// Production no order covers (counts between assignments), as the last reconcile pass derived it.
///
/// Why its own protocol: it is derived state replaced whole by every pass, read by `status`,
/// `review`, the ledger and planning; an operator's `assign` resolves it.
public protocol UnassignedProduction: Sendable {
    /// Replaces the unassigned spans with this pass's, keeping when each was first seen.
    func replaceUnassigned(_ spans: [UnassignedSpan], now: Timestamp) async throws
    func unassigned() async throws -> [UnassignedItem]
}
