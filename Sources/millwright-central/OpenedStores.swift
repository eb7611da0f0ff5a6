import ArgumentParser
import CentralIngest
import CentralPostgres
import CentralSQLite
import CentralSync
import Foundation
import Logging
import ServiceLifecycle

/// The stores a central process works with, opened from the `store` section.
///
/// Why here: the executable is the one place that links every backend, so choosing one by
/// configuration touches this file only.
struct OpenedStores {
    let ingest: any IngestStore
    let sync: any SyncState
    let retention: any RetentionStore
    let close: @Sendable () async -> Void
    /// What the store runs for the process (PostgreSQL: its pool), first in `run`'s service group.
    let services: [any Service]
    /// This process among replicas: in leases and posting claims, and in `status`.
    let holder: String

    /// Opens the configured store. `create` only for `run`: every other command reads or amends a
    /// store the central made, and a SQLite file that is not there ends it with `missingExit`
    /// (a mistyped data_dir must not answer "0 events stored" from a new, empty file).
    static func open(_ cfg: CentralConfiguration, logger: Logger, create: Bool = false, missingExit: Int32 = 1) async throws -> OpenedStores {
        let holder = "\(cfg.central)/\(ProcessInfo.processInfo.hostName)/\(ProcessInfo.processInfo.processIdentifier)"
        switch cfg.store {
        case .sqlite:
            let path = (cfg.dataDir as NSString).appendingPathComponent("central.sqlite")
            if !create && !FileManager.default.fileExists(atPath: path) {
                FileHandle.standardError.write(Data("""
                    millwright-central: no store at \(path) (data_dir \(cfg.dataDir)): the central has not run with this configuration; \
                    check data_dir, or start it with `millwright-central run --config FILE`

                    """.utf8))
                throw ExitCode(missingExit)
            }
            let db = try CentralStore(path: path)
            return OpenedStores(ingest: SQLiteIngestStore(db), sync: SQLiteSyncState(try SyncStore(central: db)),
                                retention: SQLiteRetentionStore(db), close: {}, services: [], holder: holder)
        case .postgresql(let settings):
            do {
                let db = try await PostgresDatabase(settings: settings, logger: logger)
                return OpenedStores(ingest: PostgresIngestStore(db), sync: PostgresSyncState(db, holder: holder, claimFor: settings.claimTTL.duration),
                                    retention: PostgresRetentionStore(db), close: { db.close() },
                                    services: [PostgresPoolService(db, logger: logger)], holder: holder)
            } catch {
                FileHandle.standardError.write(Data("millwright-central: \(error)\n".utf8))
                throw ExitCode(3)
            }
        }
    }
}
