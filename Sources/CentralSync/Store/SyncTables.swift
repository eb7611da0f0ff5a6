import CentralIngest

/// The synchronisation's tables as a store migration copies them (see `TransferTable`).
///
/// Why these and not leases: a lease names a process of the old store, which is stopped during a
/// migration; the new store's replicas take leases afresh. Cursors move through
/// `StoreTransferSink.setCursor`, which translates positions to the target's feed order.
public enum SyncTables {
    public static let erpOrders = TransferTable("erp_orders", [
        .init("id", .integer), .init("number", .text), .init("reference", .text), .init("state", .text), .init("body", .text),
        .init("imported_at", .integer), .init("closed_seen_at", .integer, nullable: true),
    ], pagedBy: "id")

    public static let assignmentChanges = TransferTable("assignment_changes", [
        .init("id", .integer), .init("equipment", .text), .init("order_ref", .text), .init("operation", .text),
        .init("action", .text), .init("at", .integer), .init("source", .text), .init("received_at", .integer),
        .init("operator", .text, nullable: true),
    ], pagedBy: "id", keepsGeneratedKeys: true)

    public static let postings = TransferTable("postings", [
        .init("id", .integer), .init("idempotency_key", .text), .init("target", .text), .init("kind", .text),
        .init("line", .text), .init("order_id", .integer, nullable: true), .init("quantity", .real), .init("payload", .text),
        .init("sources", .textList), .init("status", .text), .init("attempts", .integer), .init("next_attempt_at", .integer),
        .init("document_ref", .text, nullable: true), .init("last_error", .text, nullable: true),
        .init("created_at", .integer), .init("updated_at", .integer),
    ], pagedBy: "id", keepsGeneratedKeys: true)

    public static let postingAudit = TransferTable("posting_audit", [
        .init("id", .integer), .init("posting_id", .integer), .init("at", .integer), .init("actor", .text),
        .init("action", .text), .init("detail", .text),
    ], pagedBy: "id", keepsGeneratedKeys: true)

    public static let reviewItems = TransferTable("review_items", [
        .init("line", .text), .init("order_id", .integer), .init("kind", .text), .init("quantity", .real),
        .init("reason", .text), .init("sources", .textList), .init("first_seen", .integer), .init("updated_at", .integer),
    ])

    public static let targetHealth = TransferTable("target_health", [
        .init("target", .text), .init("breaker", .text), .init("consecutive_failures", .integer),
        .init("last_success", .integer, nullable: true), .init("last_failure", .integer, nullable: true),
        .init("last_error", .text, nullable: true),
    ])

    public static let unassignedSpans = TransferTable("unassigned_spans", [
        .init("equipment", .text), .init("kind", .text), .init("material", .text),
        .init("after_ms", .integer, nullable: true), .init("before_ms", .integer, nullable: true),
        .init("from_ms", .integer), .init("to_ms", .integer), .init("quantity", .real), .init("sources", .textList),
        .init("first_seen", .integer), .init("updated_at", .integer),
    ])

    public static let all = [erpOrders, assignmentChanges, postings, postingAudit, reviewItems, targetHealth, unassignedSpans]
}
