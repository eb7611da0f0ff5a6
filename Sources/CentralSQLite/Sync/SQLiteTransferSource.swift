import CentralIngest
import CentralSync
import Foundation
import GRDB
import MillwrightCore

/// The embedded SQLite file as the source of a store migration (`millwright-central migrate-store`).
///
/// Why it holds the write lock from start to finish: the copy must be one consistent snapshot, and
/// a central still running on the file could otherwise acknowledge a batch after its events were
/// copied; with the lock held, that central's commits wait and fail, so it acknowledges nothing the
/// target lacks (the edges keep those batches and send them to the new store). When the target has
/// committed, `markMoved` records where the data went in the same transaction that ends the lock, and
/// every later open of the file refuses with that (`CentralStore`).
public final class SQLiteTransferSource: StoreTransferSource {
    public let location: String
    let db: DatabaseQueue
    let queue = BlockingQueue(label: "millwright.central.sqlite-transfer")

    /// Opens a store file that `CentralStore` and `SyncStore` have already brought to the current
    /// schema, and takes its write lock, waiting up to `lockTimeout` for a writer to finish. Refuses
    /// while a central process holds a lease on the file (it is still running).
    public init(path: String, lockTimeout: TimeInterval = 5, now: Timestamp = .now()) throws {
        location = path
        var config = Configuration()
        config.busyMode = .timeout(lockTimeout)
        // The transaction spans calls: that is the point (one snapshot under one lock).
        config.allowsUnsafeTransactions = true
        db = try DatabaseQueue(path: path, configuration: config)
        do {
            try db.inDatabase { db in
                try db.execute(sql: "BEGIN IMMEDIATE")
                let held = try Row.fetchAll(db, sql: "SELECT name, holder, expires_at FROM leases WHERE expires_at > ?", arguments: [now.milliseconds])
                if let lease = held.first {
                    throw StoreTransferError("""
                        a central process is still running on \(path): \(lease["holder"] as String) holds the lease \
                        '\(lease["name"] as String)' until \(Timestamp(milliseconds: lease["expires_at"]).rfc3339). Stop it first
                        """)
                }
            }
        } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
            try? db.close()
            throw StoreTransferError("\(path) is being written by another process (a running central?): stop it first")
        } catch {
            rollBack()
            throw error
        }
    }

    func read<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let db = self.db
        return try await queue.run { try db.inDatabase(work) }
    }

    public func count(_ table: TransferTable) async throws -> Int {
        try await read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM \(table.name)") ?? 0 }
    }

    public func rows(_ table: TransferTable, after: Int64?, limit: Int) async throws -> [[TransferValue]] {
        let columns = table.columns.map { "\"\($0.name)\"" }.joined(separator: ", ")
        var sql = "SELECT \(columns) FROM \(table.name)"
        var arguments: StatementArguments = []
        if let key = table.pagedBy {
            sql += " WHERE \(key) > ? ORDER BY \(key) LIMIT ?"
            arguments = [after ?? Int64.min, limit]
        } else if after != nil {
            return []
        }
        let query = sql, args = arguments
        return try await read { db in
            try Row.fetchAll(db, sql: query, arguments: args).map { row in
                try table.columns.indices.map { i in try Self.value(row[i], table.columns[i], table) }
            }
        }
    }

    /// One stored value as its column's kind; anything else is an error naming table and column.
    static func value(_ stored: DatabaseValue, _ column: TransferColumn, _ table: TransferTable) throws -> TransferValue {
        switch (column.kind, stored.storage) {
        case (_, .null) where column.nullable: return .null
        case (.integer, .int64(let v)): return .integer(v)
        case (.boolean, .int64(let v)): return .boolean(v != 0)
        case (.real, .double(let v)): return .real(v)
        case (.real, .int64(let v)): return .real(Double(v))
        case (.text, .string(let s)): return .text(s)
        case (.bytes, .blob(let d)): return .bytes([UInt8](d))
        case (.bytes, .string(let s)): return .bytes(Array(s.utf8))
        case (.textList, .string(let s)):
            do { return .textList(try JSONDecoder().decode([String].self, from: Data(s.utf8))) } catch {
                throw StoreTransferError("\(table.name).\(column.name) holds \(s.prefix(80)), not a JSON array of strings")
            }
        default:
            throw StoreTransferError("\(table.name).\(column.name) holds \(stored), expected \(column.kind.rawValue)\(column.nullable ? " or null" : "")")
        }
    }

    public func cursors() async throws -> [String: FeedPosition] {
        try await read { try SyncStore.cursors($0) }
    }

    /// Records in the file that its data now lives at `target` and ends the snapshot, releasing the lock.
    public func markMoved(to target: String, at: Timestamp) async throws {
        try await read { db in
            try CentralStore.markMoved(db, to: target, at: at)
            try db.execute(sql: "COMMIT")
        }
    }

    public func close() async {
        let db = self.db
        await queue.perform { [self] in
            rollBack()
            do { try db.close() } catch {
                FileHandle.standardError.write(Data("closing \(location) failed: \(error)\n".utf8))
            }
        }
    }

    /// Ends the transaction if one is open (nothing was written in it unless `markMoved` committed).
    private func rollBack() {
        do { try db.inDatabase { db in if db.isInsideTransaction { try db.execute(sql: "ROLLBACK") } } } catch {
            FileHandle.standardError.write(Data("releasing \(location) failed: \(error)\n".utf8))
        }
    }
}
