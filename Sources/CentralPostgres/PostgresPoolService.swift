import Logging
import ServiceLifecycle

/// The PostgreSQL pool as a service of the central's group, so its life is the process's:
/// placed first in the group, it is shut down last (after every store user), and if the pool's
/// task ever ends by itself the group fails and the process exits non-zero instead of every store
/// call failing from then on.
///
/// Why a service beside `PostgresDatabase` rather than the database itself: the pool must already
/// run when the database opens (migrations, and the CLI commands that use it without a group); the
/// service ties that running pool to the group's lifecycle.
public struct PostgresPoolService: Service {
    let database: PostgresDatabase
    let logger: Logger

    public init(_ database: PostgresDatabase, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    public struct PoolEnded: Error, CustomStringConvertible {
        public var description: String { "the PostgreSQL connection pool stopped by itself: the central cannot reach its store" }
    }

    public func run() async throws {
        enum End { case stopped, poolEnded }
        // The first child to return decides; the group then waits for the other, so each closes
        // the pool before returning (awaiting the pool's task cannot itself be cancelled).
        let end = await withTaskGroup(of: End.self) { group in
            group.addTask { [runner = database.runner] in
                await runner.value
                return .poolEnded
            }
            group.addTask { [database] in
                // Graceful shutdown: every other service has ended (the group stops them in reverse
                // order, and this one is first). Cancellation: the group is torn down at once.
                try? await gracefulShutdown()
                database.close()
                return .stopped
            }
            let first = await group.next() ?? .stopped
            group.cancelAll()
            return first
        }
        // The pool's task can end first when the shutdown child's close() ended it: that is a stop.
        if end == .poolEnded && !database.isClosing {
            logger.critical("\(PoolEnded())")
            throw PoolEnded()
        }
    }
}
