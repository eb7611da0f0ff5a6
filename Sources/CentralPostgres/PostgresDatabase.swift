import CentralIngest
import Foundation
import Logging
import PostgresNIO

/// One connection pool to the central's PostgreSQL, shared by every store seam of a process.
///
/// Why its own type: the pool must run for as long as any store uses it (postgres-nio's client
/// runs in a task of its own), migrations must run once however many replicas start together,
/// and transactions that lose a deadlock or a serialization race to another replica are retried
/// here, in one place, instead of surfacing as failed commits.
public final class PostgresDatabase: Sendable {
    public let settings: StoreSettings.PostgreSQL
    let client: PostgresClient
    let logger: Logger
    let runner: Task<Void, Never>

    /// Connects (waiting up to `connectTimeout` for the server) and brings the schema up to date.
    public init(settings: StoreSettings.PostgreSQL, logger: Logger, connectTimeout: Duration = .seconds(30)) async throws {
        self.settings = settings
        self.logger = logger
        var config = PostgresClient.Configuration(host: settings.host, port: settings.port, username: settings.user,
                                                  password: settings.password, database: settings.database,
                                                  tls: Self.tls(settings.tls))
        config.options.maximumConnections = settings.connections
        config.options.connectTimeout = .seconds(10)
        // A replica that stops between two statements of a transaction (SIGSTOP, a frozen VM, a
        // network partition) would keep its locks, and hold back the commit-order feed, for as
        // long as its connection lives. PostgreSQL ends such a transaction after this, so the
        // others wait at most that long.
        config.options.additionalStartupParameters = [("idle_in_transaction_session_timeout", "\(Self.idleTransactionTimeout.components.seconds)s")]
        let client = PostgresClient(configuration: config, backgroundLogger: logger)
        self.client = client
        runner = Task { await client.run() }
        do {
            try await waitUntilReachable(timeout: connectTimeout)
            try await PostgresMigrations.migrate(self)
        } catch {
            runner.cancel()
            throw error
        }
    }

    /// How long PostgreSQL lets one of our transactions sit idle before ending it.
    public static let idleTransactionTimeout = Duration.seconds(10)

    static func tls(_ mode: StoreSettings.TLSMode) -> PostgresClient.Configuration.TLS {
        switch mode {
        case .disable: return .disable
        case .prefer: return .prefer(.makeClientConfiguration())
        case .require: return .require(.makeClientConfiguration())
        }
    }

    func waitUntilReachable(timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        while true {
            do {
                try await client.query("SELECT 1", logger: logger)
                return
            } catch {
                if ContinuousClock.now >= deadline || Self.isPermanent(error) {
                    throw PostgresStoreError("cannot reach PostgreSQL at \(settings.display): \(Self.describe(error))")
                }
                try await Task.sleep(for: .milliseconds(250))
            }
        }
    }

    /// Runs `body` in a transaction; retried when PostgreSQL aborted it for a deadlock or a
    /// serialization failure with a concurrent writer (another replica), or closed the connection
    /// before COMMIT was sent, which is safe because the transaction left nothing behind.
    ///
    /// BEGIN, COMMIT and ROLLBACK are sent here rather than through postgres-nio's `withTransaction`
    /// so that every statement goes through `LiveConnection` (see there).
    @discardableResult
    func transaction<T: Sendable>(_ body: (LiveConnection) async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await client.withConnection { connection in
                    let c = LiveConnection(connection: connection)
                    try await c.query("BEGIN", logger: logger)
                    let value: T
                    do {
                        value = try await body(c)
                    } catch {
                        await rollBack(c)
                        throw error
                    }
                    try await c.query("COMMIT", logger: logger)
                    return value
                }
            } catch {
                // Our own refusals (a lost lease, a replay refused) go to the caller as they are, the
                // server's errors with their message.
                let retryable = error is ConnectionEnded || Self.isConflict(error)
                if !(error is PSQLError), !(error is ConnectionEnded) { throw error }
                guard attempt < 8, retryable else { throw PostgresStoreError(Self.describe(error)) }
                logger.debug("transaction lost a race with another writer or its connection; retrying",
                              metadata: ["attempt": "\(attempt)", "error": "\(Self.describe(error))"])
                try await Task.sleep(for: .milliseconds(Int.random(in: 1...(10 * attempt))))
            }
        }
    }

    /// Ends a failed transaction. A closed connection has rolled back already. One that cannot
    /// roll back must not go back to the pool inside a failed transaction: it is closed instead.
    private func rollBack(_ c: LiveConnection) async {
        guard !c.connection.isClosed else { return }
        do {
            try await c.query("ROLLBACK", logger: logger)
        } catch {
            logger.warning("ROLLBACK failed; closing the connection", metadata: ["error": "\(Self.describe(error))"])
            do { try await c.connection.close() } catch {
                logger.warning("closing the connection failed", metadata: ["error": "\(error)"])
            }
        }
    }

    func query(_ query: PostgresQuery) async throws -> PostgresRowSequence {
        do { return try await client.query(query, logger: logger) } catch { throw PostgresStoreError(Self.describe(error)) }
    }

    public func close() {
        runner.cancel()
    }

    static func sqlState(_ error: any Error) -> String? {
        (error as? PSQLError)?.serverInfo?[.sqlState]
    }

    /// Deadlock detected (40P01) or serialization failure (40001).
    static func isConflict(_ error: any Error) -> Bool {
        ["40P01", "40001"].contains(sqlState(error) ?? "")
    }

    /// Refused credentials or a database that does not exist: waiting will not help.
    static func isPermanent(_ error: any Error) -> Bool {
        guard let state = sqlState(error) else { return false }
        return state.hasPrefix("28") || state == "3D000"
    }

    /// postgres-nio hides details from `description` on purpose; the server's message and SQLSTATE
    /// carry no secrets and are what an operator needs.
    static func describe(_ error: any Error) -> String {
        if let e = error as? PSQLError {
            if let info = e.serverInfo, let message = info[.message] {
                return "\(message) (SQLSTATE \(info[.sqlState] ?? "?"))"
            }
            return "\(e.code)"
        }
        return "\(error)"
    }
}

/// A PostgreSQL backend failure, with the server's own message.
public struct PostgresStoreError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
