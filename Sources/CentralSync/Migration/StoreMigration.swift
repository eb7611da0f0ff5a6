import CentralIngest
import MillwrightCore

/// Moves a central's whole state from one store to another (`millwright-central migrate-store`):
/// events with their keys and feed order, edges, refused batches, ERP master data, assignments,
/// postings with their audit trail, the review queue, target health, unassigned production and the
/// readers' cursors.
///
/// Why this shape: nothing may be lost or done twice across the move. The target is filled in one
/// transaction and only if it was empty, so a failed run changes nothing and a second run cannot
/// duplicate; event keys move unchanged, so a batch an edge resends afterwards is recognised as a
/// duplicate; posting ids and idempotency keys move unchanged, so nothing posted is posted again;
/// cursors are translated, so the synchronisation resumes exactly where it stopped. Every table's
/// row count is compared inside the transaction before it commits.
public enum StoreMigration {
    public static let tables = IngestTables.all + SyncTables.all

    /// What a finished migration copied.
    public struct Report: Sendable {
        /// Rows per table, in copy order.
        public var rows: [(table: String, count: Int)]
        public var cursors: [String: FeedPosition]
    }

    /// The target committed everything, but the source could not record that it moved: the data is
    /// in the target; the source must not be used by a central again.
    public struct MovedButNotMarked: Error, CustomStringConvertible {
        public var target: String
        public var source: String
        public var reason: String

        public var description: String {
            "everything was moved to \(target), but marking \(source) as moved failed (\(reason)): start the central with the new " +
                "configuration only, and do not start one on \(source) again"
        }
    }

    /// How far the copy of one table is, for progress output.
    public struct Progress: Sendable {
        public var table: String
        public var copied: Int
        public var total: Int
    }

    /// Copies everything from `source` into the empty `target` and marks the source as moved.
    /// `progress` is called after every page.
    public static func run(from source: any StoreTransferSource, to target: any StoreTransferTarget,
                           now: Timestamp = .now(), progress: @escaping @Sendable (Progress) -> Void = { _ in }) async throws -> Report {
        let report = try await target.transfer { sink in
            let present = try await sink.lock(tables).filter { $0.value > 0 }
            guard present.isEmpty else {
                let list = present.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
                throw StoreTransferError("""
                    \(target.location) already holds data (\(list)): migrate into a new, empty database \
                    (nothing was changed)
                    """)
            }
            var rows: [(table: String, count: Int)] = []
            for table in tables {
                let total = try await source.count(table)
                let copied = try await copy(table, total: total, from: source, to: sink, progress: progress)
                let stored = try await sink.count(table)
                guard copied == total, stored == total else {
                    throw StoreTransferError("\(table.name): \(total) rows in \(source.location), \(copied) read, \(stored) stored: nothing was changed")
                }
                rows.append((table.name, total))
            }
            try await sink.finish(tables)
            let cursors = try await source.cursors()
            for (name, position) in cursors.sorted(by: { $0.key < $1.key }) {
                try await sink.setCursor(name, source: position)
            }
            return Report(rows: rows, cursors: cursors)
        }
        do { try await source.markMoved(to: target.location, at: now) } catch {
            throw MovedButNotMarked(target: target.location, source: source.location, reason: "\(error)")
        }
        return report
    }

    static func copy(_ table: TransferTable, total: Int, from source: any StoreTransferSource, to sink: any StoreTransferSink,
                     progress: @Sendable (Progress) -> Void) async throws -> Int {
        // Pages of about 30,000 values: each is read, encoded and sent whole, so this bounds memory.
        let limit = max(1, 30_000 / table.columns.count)
        let key = table.pagedBy.flatMap { name in table.columns.firstIndex { $0.name == name } }
        var after: Int64?
        var copied = 0
        while true {
            let page = try await source.rows(table, after: after, limit: limit)
            if page.isEmpty { break }
            try await sink.insert(table, page)
            copied += page.count
            progress(Progress(table: table.name, copied: copied, total: total))
            guard let key else { break }
            guard case .integer(let last) = page[page.count - 1][key] else {
                throw StoreTransferError("\(table.name): the key \(table.columns[key].name) of a row is not an integer")
            }
            after = last
        }
        if copied == 0 { progress(Progress(table: table.name, copied: 0, total: total)) }
        return copied
    }
}
