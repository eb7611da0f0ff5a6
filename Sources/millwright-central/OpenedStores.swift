import ArgumentParser
import CentralIngest
import CentralPostgres
import CentralSync
import Foundation
import Logging

/// The stores a central process works with, opened from the `store` section.
///
/// Why here: the executable is the one place that links every backend, so choosing one by
/// configuration touches this file only. Sync still lives in the SQLite file (issue 11 moves it
/// behind its own seam next), so it is refused on PostgreSQL with a clear error.
struct OpenedStores {
    let ingest: any IngestStore
    /// The SQLite database, which the sync tables share; nil on PostgreSQL.
    let sqlite: CentralStore?

    static func open(_ cfg: CentralConfiguration, logger: Logger) async throws -> OpenedStores {
        switch cfg.store {
        case .sqlite:
            let db = try CentralStore(path: (cfg.dataDir as NSString).appendingPathComponent("central.sqlite"))
            return OpenedStores(ingest: SQLiteIngestStore(db), sqlite: db)
        case .postgresql(let settings):
            do {
                let db = try await PostgresDatabase(settings: settings, logger: logger)
                return OpenedStores(ingest: PostgresIngestStore(db), sqlite: nil)
            } catch {
                FileHandle.standardError.write(Data("millwright-central: \(error)\n".utf8))
                throw ExitCode(3)
            }
        }
    }

    /// Sync needs the SQLite backend in this release: say so instead of starting half a central.
    static func refuseSyncOnPostgres(_ cfg: CentralConfiguration, _ sync: SyncConfiguration, file: String?) throws {
        guard case .postgresql = cfg.store, sync.isEnabled else { return }
        FileHandle.standardError.write(Data("""
            \(file ?? "<config>"): store.backend: postgresql stores ingested events only in this release; \
            erp/mes/planning/targets (sync) need backend: sqlite for now (docs/SCALING.md)

            """.utf8))
        throw ExitCode(2)
    }
}
