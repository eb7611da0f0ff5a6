import CentralIngest

/// Where each reader of the event feed is (the reconcile pass's immediate tier: `event_postings`).
///
/// Why its own protocol: a cursor moves only in the transaction that stores what was made from the
/// events it passes (`PostingOutbox.apply`), and a store migration copies cursors apart from rows.
public protocol FeedCursors: Sendable {
    /// Where the reader `name` is in the event feed (`.start` before its first pass).
    func cursor(_ name: String) async throws -> FeedPosition
}
