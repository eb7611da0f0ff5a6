import PostgresNIO

/// The rows of one statement, read to the end while its connection was leased.
///
/// Why: `PostgresDatabase.query` gives its connection back before the caller reads the rows (see
/// there); an async sequence keeps the callers' `for try await … in rows.decode(…)` as it was with
/// postgres-nio's streaming `PostgresRowSequence`.
struct FetchedRows: AsyncSequence, Sendable {
    typealias Element = PostgresRow
    let rows: [PostgresRow]

    struct AsyncIterator: AsyncIteratorProtocol {
        var rest: IndexingIterator<[PostgresRow]>
        mutating func next() async throws -> PostgresRow? { rest.next() }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(rest: rows.makeIterator()) }
}
