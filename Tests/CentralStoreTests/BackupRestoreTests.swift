@testable import CentralIngest
import CentralPostgres
import CentralSQLite
import CentralSync
import Foundation
import MillwrightCore
import TestSupport
import Testing

/// docs/OPERATIONS.md, "Back up and restore the central", done exactly as written: an online
/// backup while the store is in use, a restore into an empty place, and the central's own `status`
/// reading the restored store (events and postings as they were at the backup, nothing after it).
@Suite("Back up and restore the central's store (docs/OPERATIONS.md)")
struct BackupRestoreTests {
    typealias C = IngestStoreContractTests
    let now = Timestamp(milliseconds: 1_764_000_100_000)

    static func posting(_ key: String) -> NewPosting {
        NewPosting(idempotencyKey: key, target: "tryton", kind: .escalation, payload: "{}", sources: [])
    }

    static func status(_ yaml: String) throws -> String {
        let dir = try TemporaryDirectory.make(prefix: "ops-config")
        let path = dir.appendingPathComponent("central.yaml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        let r = try Executables.run(CentralProcess.binary, ["status", "--config", path], withStderr: true)
        // No central runs here (no broker either): the store is read, and status says not running (3).
        #expect(r.status == 3 && r.output.contains("health: NOT RUNNING"), "status failed: \(r.output)")
        return r.output
    }

    /// The documented backup: `pg_dump` in the custom format; returns the file.
    static func pgDump(_ server: PostgresServer, _ database: String) throws -> String {
        let dump = try TemporaryDirectory.make(prefix: "ops-dump").appendingPathComponent("central.dump").path
        let d = try Executables.run("pg_dump", ["-h", "127.0.0.1", "-p", "\(server.port)", "-U", "millwright", "-d", database,
                                                "--format=custom", "--file=\(dump)"], withStderr: true)
        #expect(d.status == 0, "pg_dump: \(d.output)")
        return dump
    }

    /// The documented restore: `pg_restore` into an empty database.
    static func pgRestore(_ dump: String, into server: PostgresServer, _ database: String) throws {
        let r = try Executables.run("pg_restore", ["-h", "127.0.0.1", "-p", "\(server.port)", "-U", "millwright", "-d", database,
                                                   "--no-owner", "--exit-on-error", dump], withStderr: true)
        #expect(r.status == 0, "pg_restore: \(r.output)")
    }

    @Test func sqliteOnlineBackupRestoresTheStoreAsItWas() async throws {
        let live = try TemporaryDirectory.make(prefix: "ops-live")
        let file = live.appendingPathComponent("central.sqlite").path
        let ingest = try SQLiteIngestStore(path: file)
        let sync = SQLiteSyncState(try SyncStore(central: ingest.database))
        _ = try await ingest.commit([try C.batch(seqs: 1...400)], rejected: [], now: now)
        try await sync.apply(postings: [Self.posting("k1"), Self.posting("k2")], now: now)

        // The documented command, while the store is open and written to.
        let backup = try TemporaryDirectory.make(prefix: "ops-backup").appendingPathComponent("central-backup.sqlite").path
        let r = try Executables.run("sqlite3", [file, ".backup '\(backup)'"], withStderr: true)
        #expect(r.status == 0, "sqlite3 .backup: \(r.output)")
        _ = try await ingest.commit([try C.batch(id: "later", seqs: 401...450)], rejected: [], now: now)
        #expect(try await ingest.eventCount() == 450)

        // Restore: the backup becomes central.sqlite in an empty data_dir.
        let restored = try TemporaryDirectory.make(prefix: "ops-restored")
        try FileManager.default.copyItem(atPath: backup, toPath: restored.appendingPathComponent("central.sqlite").path)
        let out = try Self.status("central: restored\nbroker: { port: 1883 }\ndata_dir: \(restored.path)\n")
        #expect(out.contains("central restored: 400 events stored"), "\(out)")
        #expect(out.contains("postings: 2 pending"), "\(out)")
    }

    @Test func postgresDumpRestoresIntoAnEmptyDatabase() async throws {
        let server = try PostgresServer.shared()
        let source = try server.createDatabase()
        let db = try await PostgresDatabase(settings: StoreBackend.settings(server, source), logger: StoreBackend.logger)
        let ingest = PostgresIngestStore(db)
        let sync = PostgresSyncState(db, holder: "ops-test")
        _ = try await ingest.commit([try C.batch(seqs: 1...400)], rejected: [], now: now)
        try await sync.apply(postings: [Self.posting("k1"), Self.posting("k2")], now: now)

        // The documented commands: pg_dump in the custom format while the central runs, then
        // pg_restore into a new, empty database.
        let dump = try Self.pgDump(server, source)
        _ = try await ingest.commit([try C.batch(id: "later", seqs: 401...450)], rejected: [], now: now)
        db.close()

        let target = try server.createDatabase()
        try Self.pgRestore(dump, into: server, target)
        let out = try Self.status("central: restored\nbroker: { port: 1883 }\n" + server.storeYAML(database: target) + "\n")
        #expect(out.contains("central restored: 400 events stored"), "\(out)")
        #expect(out.contains("postings: 2 pending"), "\(out)")

        // The restored database takes new events where the old one left off, and the feed reads
        // them after the restored ones.
        let again = try await PostgresDatabase(settings: StoreBackend.settings(server, target), logger: StoreBackend.logger)
        defer { again.close() }
        let restored = PostgresIngestStore(again)
        let outcome = try await restored.commit([try C.batch(id: "after", seqs: 395...410)], rejected: [], now: now)
        #expect(outcome == [IngestOutcome(inserted: 10, duplicates: 6)])
        let fed = try await firstValue { () async throws -> [FeedEvent]? in
            let page = try await restored.events(after: .start, .all, limit: 1000)
            return page.count == 410 ? page : nil
        }
        #expect(fed?.suffix(10).map(\.seq) == Array(401...410))
    }

    /// A dump restored into another cluster (a new server after a disaster): that cluster's
    /// transaction ids are far behind the stored rows' feed ids, and without the feed offset every
    /// new event would sort before the saved cursors and never be synchronised.
    @Test func postgresRestoreIntoAnotherClusterKeepsTheFeedGoing() async throws {
        let server = try PostgresServer.shared()
        let source = try server.createDatabase()
        // The source cluster has handed out more transaction ids than a new one has.
        _ = try server.psql(source, "DO $$ BEGIN FOR i IN 1..3000 LOOP PERFORM pg_current_xact_id(); COMMIT; END LOOP; END $$")
        let db = try await PostgresDatabase(settings: StoreBackend.settings(server, source), logger: StoreBackend.logger)
        let ingest = PostgresIngestStore(db)
        _ = try await ingest.commit([try C.batch(seqs: 1...100)], rejected: [], now: now)
        // The synchronisation has read them all and saved its cursor.
        let read = try #require(try await firstValue { () async throws -> [FeedEvent]? in
            let page = try await ingest.events(after: .start, .all, limit: 1000)
            return page.count == 100 ? page : nil
        })
        _ = try await PostgresSyncState(db, holder: "ops-test").apply(postings: [], reviews: [], cursor: ("reconcile", read[99].position), now: now)
        let dump = try Self.pgDump(server, source)
        db.close()

        let other = try PostgresServer.separate()
        defer { other.stop() }
        let target = try other.createDatabase()
        try Self.pgRestore(dump, into: other, target)
        let again = try await PostgresDatabase(settings: StoreBackend.settings(other, target), logger: StoreBackend.logger)
        defer { again.close() }
        let restored = PostgresIngestStore(again)
        let cursor = try await PostgresSyncState(again, holder: "ops-test").cursor("reconcile")
        #expect(cursor == read[99].position)
        _ = try await restored.commit([try C.batch(id: "after", seqs: 101...110)], rejected: [], now: now)
        let next = try await firstValue { () async throws -> [FeedEvent]? in
            let page = try await restored.events(after: cursor, .all, limit: 1000)
            return page.count >= 10 ? page : nil
        }
        #expect(next?.map(\.seq) == Array(101...110), "new events after the restored cursor: \(next?.map(\.seq) ?? [])")
    }
}
