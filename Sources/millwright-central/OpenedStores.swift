import ArgumentParser
import CentralIngest
import CentralPostgres
import CentralSync
import Foundation
import Logging

/// The stores a central process works with, opened from the `store` section.
///
/// Why here: the executable is the one place that links every backend, so choosing one by
/// configuration touches this file only.
struct OpenedStores {
    let ingest: any IngestStore
    let sync: any SyncState
    let close: @Sendable () async -> Void
    /// This process among replicas: in leases and posting claims, and in `status`.
    let holder: String

    static func open(_ cfg: CentralConfiguration, logger: Logger) async throws -> OpenedStores {
        let holder = "\(cfg.central)/\(ProcessInfo.processInfo.hostName)/\(ProcessInfo.processInfo.processIdentifier)"
        switch cfg.store {
        case .sqlite:
            let db = try CentralStore(path: (cfg.dataDir as NSString).appendingPathComponent("central.sqlite"))
            return OpenedStores(ingest: SQLiteIngestStore(db), sync: SQLiteSyncState(try SyncStore(central: db)), close: {}, holder: holder)
        case .postgresql(let settings):
            do {
                let db = try await PostgresDatabase(settings: settings, logger: logger)
                return OpenedStores(ingest: PostgresIngestStore(db), sync: PostgresSyncState(db, holder: holder, claimFor: .milliseconds(settings.claimTTL.value)), close: { db.close() },
                                    holder: holder)
            } catch {
                FileHandle.standardError.write(Data("millwright-central: \(error)\n".utf8))
                throw ExitCode(3)
            }
        }
    }
}
