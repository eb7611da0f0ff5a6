import MillwrightCore

/// Where a store migration reads from: a central store that is not in use, read as one
/// consistent snapshot that no other process can change until `close`.
///
/// Why a protocol: the migration command copies from one backend to another without knowing
/// either one's SQL; today the source is the embedded SQLite file.
public protocol StoreTransferSource: Sendable {
    /// Where the data is, for messages.
    var location: String { get }

    func count(_ table: TransferTable) async throws -> Int

    /// Up to `limit` rows of `table` whose `pagedBy` value is above `after`, in that order, values
    /// in the table's column order; a table without `pagedBy` comes whole in one page (after nil).
    func rows(_ table: TransferTable, after: Int64?, limit: Int) async throws -> [[TransferValue]]

    /// Every feed reader's saved place (reconcile, the immediate tier), by reader name.
    func cursors() async throws -> [String: FeedPosition]

    /// Records in the source that its data now lives at `target` (every later open refuses it and
    /// says where), and ends the snapshot. Called once the target has committed.
    func markMoved(to target: String, at: Timestamp) async throws

    /// Ends the snapshot and releases the store.
    func close() async
}

/// Where a store migration writes to: an empty central store, filled in one transaction that
/// either commits everything or leaves the store as it was.
public protocol StoreTransferTarget: Sendable {
    var location: String { get }

    /// Runs `body` in one transaction on the target; nothing is visible to others until it returns.
    func transfer<T: Sendable>(_ body: @Sendable (any StoreTransferSink) async throws -> T) async throws -> T
}

/// The target inside its transfer transaction.
public protocol StoreTransferSink: Sendable {
    /// Keeps every other writer out of `tables` until the transfer commits, then counts their rows.
    func lock(_ tables: [TransferTable]) async throws -> [String: Int]

    /// Inserts rows as the source gave them (generated keys kept, see `keepsGeneratedKeys`).
    func insert(_ table: TransferTable, _ rows: [[TransferValue]]) async throws

    /// Saves a reader's place. `position` is the source's: the target translates it to its own
    /// feed order (the events copied in this transfer sort in their source order).
    func setCursor(_ name: String, source position: FeedPosition) async throws

    func count(_ table: TransferTable) async throws -> Int

    /// After every insert: moves each table's key generator past the highest copied key.
    func finish(_ tables: [TransferTable]) async throws
}
