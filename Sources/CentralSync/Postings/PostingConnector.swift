import MillwrightCore

/// What a target did with a posting.
public enum DeliveryOutcome: Sendable, Hashable {
    /// The change exists at the target: created now, or found by its reference from an earlier
    /// attempt whose answer was lost. `documentRef` names it there ("stock.move:42").
    case delivered(documentRef: String, note: String)
    /// The change was already at the target (an earlier attempt applied it, its answer was lost):
    /// delivered all the same, and counted apart.
    case found(documentRef: String, note: String)
    /// Not applied; the dispatcher retries with backoff until the attempt limit, then dead-letters it.
    case failed(String)
}

/// A target for postings: the ERP, an MES, a plant's unified namespace, a drop folder.
///
/// Delivery must be idempotent on `posting.idempotencyKey`: a target without a native key is
/// searched by a reference carrying it before anything is created.
public protocol PostingConnector: Sendable {
    func deliver(_ posting: Posting) async -> DeliveryOutcome
}

/// Where released orders, their operations and planned inputs come from.
public protocol MasterDataSource: Sendable {
    /// Every work center, with its parent: what the equipment mapping is resolved against.
    func workCenters() async throws -> [ERPWorkCenter]
    /// Of `codes`, those that are product codes in the ERP.
    func knownProductCodes(_ codes: Set<String>) async throws -> Set<String>
    /// Orders with a work on one of `workCenterIDs` (running, waiting, assigned, done or
    /// cancelled), and the orders `known` (imported before and not closed: an order cancelled or
    /// put back to draft loses its works in Tryton, and must still be seen to change), changed
    /// since `since` (nil: all of them), each work with its center's id.
    func fetchOrders(workCenterIDs: Set<Int64>, known: Set<Int64>, since: Timestamp?) async throws -> [ERPOrder]
}
