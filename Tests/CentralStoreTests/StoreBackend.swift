import CentralIngest
import CentralPostgres
import CentralSQLite
import Foundation
import Logging
import TestSupport
import Testing

/// The backends every store contract test runs against: the embedded SQLite file and a real
/// PostgreSQL the tests start themselves (one server per test process, one database per test).
enum StoreBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgresql

    var testDescription: String { rawValue }

    static let logger: Logger = {
        var l = Logger(label: "store-tests")
        l.logLevel = .error
        return l
    }()

    /// A fresh, empty store; `close()` it at the end.
    func openIngest() async throws -> any IngestStore {
        switch self {
        case .sqlite:
            let dir = try TemporaryDirectory.make(prefix: "central-store")
            return try SQLiteIngestStore(path: dir.appendingPathComponent("central.sqlite").path)
        case .postgresql:
            return PostgresIngestStore(try await Self.freshPostgres())
        }
    }

    /// A fresh PostgreSQL database, migrated.
    static func freshPostgres() async throws -> PostgresDatabase {
        let server = try PostgresServer.shared()
        return try await PostgresDatabase(settings: settings(server, try server.createDatabase()), logger: logger)
    }

    static func settings(_ server: PostgresServer, _ database: String, connections: Int = 4) -> StoreSettings.PostgreSQL {
        StoreSettings.PostgreSQL(host: "127.0.0.1", port: server.port, user: "millwright", database: database,
                                 connections: connections, tls: .disable)
    }
}
