import CentralIngest
import Logging
import MillwrightCore
import PostgresNIO

/// PostgreSQL as the target of a store migration: every table filled in one transaction.
///
/// Why one transaction: a migration that fails half-way (a refused row, a lost connection) leaves
/// the database as empty as it found it, so it can simply be run again; replicas started early
/// wait on the table locks and then see everything at once.
public final class PostgresTransferTarget: StoreTransferTarget {
    let database: PostgresDatabase

    public init(_ database: PostgresDatabase) {
        self.database = database
    }

    public var location: String { database.settings.display }

    public func transfer<T: Sendable>(_ body: @Sendable (any StoreTransferSink) async throws -> T) async throws -> T {
        let logger = database.logger
        return try await database.transaction { c in try await body(PostgresTransferSink(c: c, logger: logger)) }
    }
}

/// The statements of a transfer, on the transaction's connection.
struct PostgresTransferSink: StoreTransferSink {
    let c: LiveConnection
    let logger: Logger

    func lock(_ tables: [TransferTable]) async throws -> [String: Int] {
        let names = tables.map(\.name) + ["cursors"]
        // EXCLUSIVE: others may still read, nobody writes until the transfer commits.
        try await c.query(PostgresQuery(unsafeSQL: "LOCK TABLE \(names.joined(separator: ", ")) IN EXCLUSIVE MODE"), logger: logger)
        var counts: [String: Int] = [:]
        for name in names {
            counts[name] = try await count(name)
        }
        return counts
    }

    func count(_ table: TransferTable) async throws -> Int { try await count(table.name) }

    func count(_ name: String) async throws -> Int {
        let rows = try await c.query(PostgresQuery(unsafeSQL: "SELECT COUNT(*) FROM \(name)"), logger: logger)
        for try await n in rows.decode(Int64.self) { return Int(n) }
        return 0
    }

    /// One `COPY ... FROM STDIN` per page, in PostgreSQL's text format: the database's bulk path
    /// (multi-row INSERTs moved 1,000,000 events at 0.42 of psql's `\copy`). COPY writes the given
    /// values into identity columns as they are.
    func insert(_ table: TransferTable, _ rows: [[TransferValue]]) async throws {
        guard !rows.isEmpty else { return }
        var buffer = ByteBuffer()
        buffer.reserveCapacity(rows.count * 512)
        for row in rows {
            guard row.count == table.columns.count else {
                throw StoreTransferError("\(table.name): a row with \(row.count) values for \(table.columns.count) columns")
            }
            for (i, value) in row.enumerated() {
                if i > 0 { buffer.writeInteger(UInt8(ascii: "\t")) }
                CopyText.write(value, into: &buffer)
            }
            buffer.writeInteger(UInt8(ascii: "\n"))
        }
        try await c.copy(buffer, into: table.name, columns: table.columns.map(\.name), logger: logger)
    }

    /// A SQLite position is a row id, and this transfer kept every event's id: in the feed the
    /// copied events all carry this transaction's id, so (this transaction, row) sorts after exactly
    /// the events the source's cursor had passed, and before every event stored later.
    func setCursor(_ name: String, source position: FeedPosition) async throws {
        guard position.transaction == 0 else {
            throw StoreTransferError("cursor \(name) is at \(position), a PostgreSQL feed position: only cursors of a SQLite store can be moved")
        }
        try await c.query("""
            INSERT INTO cursors (name, txid, row_id) VALUES (\(name), feed_txid(), \(position.row))
            ON CONFLICT (name) DO UPDATE SET txid = excluded.txid, row_id = excluded.row_id
            """, logger: logger)
    }

    func finish(_ tables: [TransferTable]) async throws {
        for table in tables where table.keepsGeneratedKeys {
            guard let key = table.pagedBy else { continue }
            try await c.query(PostgresQuery(unsafeSQL: """
                SELECT setval(pg_get_serial_sequence('\(table.name)', '\(key)'), COALESCE((SELECT max(\(key)) FROM \(table.name)), 0) + 1, false)
                """), logger: logger)
        }
    }
}
