/// The ingest's tables as a store migration copies them (see `TransferTable`).
///
/// Why here: the ingest owns these tables; a column added by an ingest migration is added here too
/// (`StoreMigrationTests` fails when a backend's table has a column this list lacks).
public enum IngestTables {
    public static let events = TransferTable("events", [
        .init("id", .integer), .init("edge", .text), .init("boot_epoch", .integer), .init("seq", .integer),
        .init("event_id", .text), .init("site", .text), .init("equipment", .text), .init("signal", .text),
        .init("type", .text), .init("priority", .integer), .init("occurred_at", .integer),
        .init("edge_received_at", .integer), .init("central_received_at", .integer), .init("is_historical", .boolean),
        .init("body", .text),
    ], pagedBy: "id", keepsGeneratedKeys: true)

    public static let edges = TransferTable("edges", [
        .init("edge", .text), .init("site", .text), .init("first_seen", .integer), .init("last_seen", .integer),
        .init("last_epoch", .integer), .init("last_seq", .integer), .init("events", .integer), .init("duplicates", .integer),
        .init("batches", .integer), .init("gap_events", .integer), .init("dropped_reported", .integer),
        .init("status", .text, nullable: true), .init("status_at", .integer, nullable: true),
    ])

    public static let edgeClockOffsets = TransferTable("edge_clock_offsets", [
        .init("edge", .text), .init("boot_epoch", .integer), .init("offset_ms", .integer), .init("samples", .integer),
    ])

    public static let rejectedBatches = TransferTable("rejected_batches", [
        .init("id", .integer), .init("at", .integer), .init("topic", .text), .init("kind", .text), .init("reason", .text),
        .init("payload", .bytes),
    ], pagedBy: "id", keepsGeneratedKeys: true)

    public static let retentionHolds = TransferTable("retention_holds", [
        .init("id", .integer), .init("site", .text), .init("from_ms", .integer), .init("to_ms", .integer), .init("until_ms", .integer),
        .init("reason", .text),
    ], pagedBy: "id", keepsGeneratedKeys: true)

    public static let retentionRuns = TransferTable("retention_runs", [
        .init("id", .integer), .init("started_at", .integer), .init("finished_at", .integer), .init("deleted", .text),
        .init("archived", .integer), .init("kept", .integer), .init("error", .text, nullable: true),
    ], pagedBy: "id", keepsGeneratedKeys: true)

    public static let all = [events, edges, edgeClockOffsets, rejectedBatches, retentionHolds, retentionRuns]
}
