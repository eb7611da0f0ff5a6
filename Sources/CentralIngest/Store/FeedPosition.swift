/// A place in the order stored events became visible, for readers that follow the event stream
/// with a cursor (reconcile, the immediate tier).
///
/// Why not a row id: with several writers, a row can get a lower id than one already read yet
/// commit after it, and a cursor on ids would skip it for good. PostgreSQL orders by the inserting
/// transaction's id, then row id, and only shows transactions older than every one still running;
/// SQLite has one writer, so its row order is commit order and `transaction` stays 0.
public struct FeedPosition: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var transaction: Int64
    public var row: Int64

    public init(transaction: Int64 = 0, row: Int64) {
        self.transaction = transaction
        self.row = row
    }

    public static let start = FeedPosition(transaction: 0, row: 0)

    public static func < (a: FeedPosition, b: FeedPosition) -> Bool { (a.transaction, a.row) < (b.transaction, b.row) }

    /// `transaction:row`, as cursors are saved.
    public var description: String { "\(transaction):\(row)" }

    /// Reads `transaction:row`, or a bare row id (cursors saved before positions had a transaction).
    public init?(parsing text: String) {
        let parts = text.split(separator: ":")
        if parts.count == 1, let row = Int64(parts[0]) {
            self.init(row: row)
        } else if parts.count == 2, let t = Int64(parts[0]), let row = Int64(parts[1]) {
            self.init(transaction: t, row: row)
        } else {
            return nil
        }
    }
}
