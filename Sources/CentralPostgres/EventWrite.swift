/// How a group commit writes its events into PostgreSQL.
///
/// Why two: issue 11 asked for the database's best bulk path, measured. `unnest` binds each column
/// as one array in one INSERT; `copy` streams the rows with `COPY FROM STDIN` into a temporary
/// table and inserts from it (COPY itself cannot skip duplicates or return what was new).
/// `bench/pg-event-write` measures both in one run: COPY wrote 1.02-1.06 times as many events per
/// second (docs/BENCHMARKS.md), so it is `PostgresIngestStore`'s default; `unnest` stays as the
/// benchmark's reference and is tested like it.
public enum EventWrite: String, Sendable, CaseIterable {
    case unnest
    case copy
}
