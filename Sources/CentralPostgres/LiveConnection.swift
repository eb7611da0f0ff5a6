import Logging
import PostgresNIO

/// A connection leased for one transaction, whose statements fail instead of hanging once the
/// server has closed it.
///
/// Why: postgres-nio 1.33 writes a statement to a connection without a write promise; on a
/// connection the server already closed (its idle-in-transaction timeout ended a transaction that
/// sat idle, e.g. in a process that was paused or starved of CPU) the write fails before any
/// handler sees it and the statement's result never comes: the caller waits forever
/// (`ServerEndedTransactionTests` hangs without this). Checking before each statement turns that
/// into `ConnectionEnded`, which a transaction retries. What is left is a race of microseconds
/// between the check and the write reaching the event loop.
struct LiveConnection: Sendable {
    let connection: PostgresConnection

    @discardableResult
    func query(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence {
        guard !connection.isClosed else { throw ConnectionEnded() }
        return try await connection.query(query, logger: logger)
    }

    /// `COPY table (columns) FROM STDIN` of rows already in PostgreSQL's text format.
    func copy(_ rows: ByteBuffer, into table: String, columns: [String], logger: Logger) async throws {
        guard !connection.isClosed else { throw ConnectionEnded() }
        try await connection.copyFrom(table: table, columns: columns, logger: logger) { writer in
            try await writer.write(rows)
        }
    }
}

/// The server closed the connection before a statement was sent: nothing of the transaction was
/// committed, so it can be run again on another connection.
struct ConnectionEnded: Error, CustomStringConvertible {
    var description: String { "PostgreSQL closed the connection (for instance its idle_in_transaction_session_timeout ended an idle transaction)" }
}
