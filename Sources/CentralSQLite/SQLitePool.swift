import GRDB

/// How every store of the central's SQLite file opens its connections: WAL (GRDB's pool), a busy
/// timeout for the other pool's writes, and `synchronous = FULL`.
///
/// Why one place: an ingest commit and a posting's transition are both promises (an ack to an
/// edge, a change sent to an ERP); a store opened another way could lose one on a power cut.
enum SQLitePool {
    static func open(path: String, busyTimeout: Double) throws -> DatabasePool {
        var config = Configuration()
        config.busyMode = .timeout(busyTimeout)
        let pool = try DatabasePool(path: path, configuration: config)
        // After opening: GRDB's WAL set-up sets NORMAL on the writer.
        try pool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA synchronous = FULL") }
        return pool
    }
}
