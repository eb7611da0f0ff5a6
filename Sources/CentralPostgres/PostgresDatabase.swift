import CentralIngest
import Foundation
import Logging
import PostgresNIO
import Synchronization

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
                                                  tls: try Self.tls(settings.tls, caFile: settings.caFile))
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

    /// Why a connection cannot be made, from one connection outside the pool (nil: it can).
    func directConnectionError() async -> (any Error)? {
        do {
            var tls = TLSConfiguration.makeClientConfiguration()
            if let ca = settings.caFile { tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca)) }
            let mode: PostgresConnection.Configuration.TLS = switch settings.tls {
            case .disable: .disable
            case .prefer: .prefer(try NIOSSLContext(configuration: tls))
            case .require, .verifyFull: .require(try NIOSSLContext(configuration: tls))
            }
            var c = PostgresConnection.Configuration(host: settings.host, port: settings.port, username: settings.user,
                                                     password: settings.password, database: settings.database, tls: mode)
            c.options.connectTimeout = .seconds(10)
            let connection = try await PostgresConnection.connect(configuration: c, id: 0, logger: logger)
            try await connection.close()
            return nil
        } catch {
            return error
        }
    }

    /// The client's TLS: NIOSSL's client configuration verifies the certificate chain and the host
    /// name; `caFile` replaces the system's trust store.
    static func tls(_ mode: StoreSettings.TLSMode, caFile: String?) throws -> PostgresClient.Configuration.TLS {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caFile {
            do {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
            } catch {
                throw PostgresStoreError("cannot read the CA file \(caFile) (store.ca_file): \(error)")
            }
        }
        switch mode {
        case .disable: return .disable
        case .prefer: return .prefer(tls)
        case .require, .verifyFull: return .require(tls)
        }
    }

    func waitUntilReachable(timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        while true {
            do {
                // First one connection of our own: the pool reports a connection it could not make
                // only as a tripped circuit breaker, a minute later; a direct connection says why at
                // once (TLS, a password, an unknown database), and whether waiting can help.
                if let refused = await directConnectionError() { throw refused }
                try await client.query("SELECT 1", logger: logger)
                return
            } catch {
                let reason = error is PSQLError ? error : await directConnectionError() ?? error
                if ContinuousClock.now >= deadline || Self.isPermanent(reason) {
                    throw PostgresStoreError("cannot reach PostgreSQL at \(settings.display): \(Self.describe(reason))")
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

    /// Runs one statement outside a transaction and returns its rows, read to the end.
    ///
    /// Not `client.query`: that writes the statement to whatever connection the pool leases, and a
    /// connection the server closed a moment ago (its idle-in-transaction timeout, a restart) can
    /// still be leased before the pool has seen it close; the statement's result then never comes
    /// (`ServerEndedTransactionTests` hung so). Through `LiveConnection` such a connection is
    /// refused before the write and the statement, which changed nothing, runs on another. The rows
    /// are read before the connection goes back to the pool, which must not lease it while they
    /// stream.
    func query(_ query: PostgresQuery) async throws -> FetchedRows {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await client.withConnection { connection in
                    FetchedRows(rows: try await LiveConnection(connection: connection).query(query, logger: logger).collect())
                }
            } catch is ConnectionEnded where attempt < 8 {
                logger.debug("a statement found its connection closed; running it on another", metadata: ["attempt": "\(attempt)"])
                try await Task.sleep(for: .milliseconds(Int.random(in: 1...(10 * attempt))))
            } catch {
                throw PostgresStoreError(Self.describe(error))
            }
        }
    }

    public func close() {
        closeRequested.store(true, ordering: .releasing)
        runner.cancel()
    }

    /// Whether `close()` was called: the pool's task then ends because it was asked to.
    public var isClosing: Bool { closeRequested.load(ordering: .acquiring) }
    let closeRequested = Atomic<Bool>(false)

    static func sqlState(_ error: any Error) -> String? {
        (error as? PSQLError)?.serverInfo?[.sqlState]
    }

    /// Deadlock detected (40P01) or serialization failure (40001).
    static func isConflict(_ error: any Error) -> Bool {
        ["40P01", "40001"].contains(sqlState(error) ?? "")
    }

    /// Refused credentials or a database that does not exist: waiting will not help.
    static func isPermanent(_ error: any Error) -> Bool {
        // TLS asked for and not possible (no TLS at the server, a certificate that does not verify):
        // waiting does not change that, and plaintext is never the fallback.
        if let e = error as? PSQLError, e.code == .sslUnsupported || e.underlying is NIOSSLError { return true }
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
            if e.code == .sslUnsupported {
                return "the server does not offer TLS, and store.tls requires it (no plaintext fallback)"
            }
            if let underlying = e.underlying as? NIOSSLError {
                return "TLS failed: \(underlying) (store.tls and store.ca_file: the server's certificate must chain to the CA and name the host)"
            }
            return e.underlying.map { "\(e.code): \($0)" } ?? "\(e.code)"
        }
        return "\(error)"
    }
}

/// A PostgreSQL backend failure, with the server's own message.
public struct PostgresStoreError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
