@testable import CentralIngest
import CentralPostgres
import CentralSQLite
import CentralSync
import Foundation
import MillwrightCore
import Reconciliation
import TestSupport
import Testing

/// docs/OPERATIONS.md, "Move from SQLite to PostgreSQL", done as written: a SQLite store in the
/// shape a plant's central leaves it (several edges and incarnations, a refused batch, postings in
/// every state with their audit trail, review items, assignments, ERP orders, unassigned spans,
/// target health, the reconcile cursor half-way through the feed), moved with
/// `millwright-central migrate-store`, then read back through the PostgreSQL seams: everything equal,
/// the feed resuming exactly at the cursor, resent batches recognised, new ids after the old ones.
@Suite("Move a central from SQLite to PostgreSQL (migrate-store)")
struct StoreMigrationTests {
    typealias C = IngestStoreContractTests
    let now = Timestamp(milliseconds: 1_764_000_100_000)

    /// A data_dir with a central.sqlite filled through the product's own stores.
    struct PlantStore {
        let dir: URL
        let ingest: SQLiteIngestStore
        let sync: SQLiteSyncState
        let batches: [ValidBatch]
        var file: String { dir.appendingPathComponent("central.sqlite").path }
    }

    func plantStore(events perEdge: Int = 1_700) async throws -> PlantStore {
        let dir = try TemporaryDirectory.make(prefix: "migrate-sqlite")
        let ingest = try SQLiteIngestStore(path: dir.appendingPathComponent("central.sqlite").path)
        let sync = SQLiteSyncState(try SyncStore(central: ingest.database))
        // Three edges, the second restarted (a new boot epoch), batches interleaved as they arrive.
        var batches: [ValidBatch] = []
        for (i, edge) in ["press-1", "press-2", "weld-1"].enumerated() {
            let half = Int64(perEdge / 2)
            batches.append(try C.batch(edge: edge, id: "\(edge)-a", seqs: 1...half, epoch: 3))
            batches.append(try C.batch(edge: edge, id: "\(edge)-b", seqs: (half + 1)...Int64(perEdge), epoch: i == 1 ? 4 : 3))
        }
        for pair in stride(from: 0, to: batches.count, by: 2) {
            _ = try await ingest.commit([batches[pair]], rejected: [], now: now)
        }
        for pair in stride(from: 1, to: batches.count, by: 2) {
            _ = try await ingest.commit([batches[pair]], rejected: [], now: now + .seconds(5))
        }
        let refused = try #require(C.refused(Array(#"{"batch_id":"x","events":[{"seq":1e19}]}"#.utf8), edge: "press-1"))
        _ = try await ingest.commit([], rejected: [refused], now: now)
        try await ingest.recordStatus(edge: "press-1", site: "plant-a", json: #"{"state":"online","backlog_events":0}"#, at: now)

        try await sync.upsertOrders([LeaseContractTests.order], now: now)
        try await sync.recordAssignmentChange(equipment: "press-1", orderRef: "PO-1", action: .start, at: now, source: .mes, now: now)
        try await sync.recordAssignmentChange(equipment: "press-2", orderRef: "PO-1", operation: "10", action: .start, at: now,
                                              source: .operator, operator: "j.doe", now: now)
        let line = LineKey(orderID: 1, workID: nil, kind: .yield, bucket: 0)
        let postings = [
            NewPosting(idempotencyKey: "yield:1:0", target: "tryton", kind: .yield, line: line.description, orderID: 1,
                       quantity: 42.5, payload: #"{"quantity":42.5}"#, sources: ["press-1:3:1", "press-1:3:2"]),
            NewPosting(idempotencyKey: "notify:press-2:4:900", target: "cmms", kind: .maintenanceNotification, payload: "{}",
                       sources: ["press-2:4:900"]),
            NewPosting(idempotencyKey: "plan:1", target: "planning", kind: .planningSnapshot, payload: "{}", sources: []),
            // Text that COPY and array literals must escape: tabs, newlines, backslashes, quotes, braces, commas.
            NewPosting(idempotencyKey: "tricky\tkey", target: "cmms", kind: .maintenanceNotification,
                       payload: "line one\nline two\ttab \\ back \"quoted\" {x,y} é \r end",
                       sources: ["a\"b", "c,d", "{e}", "back\\slash", "tab\there", "NULL", ""]),
        ]
        // The reconcile cursor stops part-way through the feed: half of it is still to be read.
        let feed = try await ingest.events(after: .start, .all, limit: 100_000)
        let ids = try await sync.apply(postings: postings, reviews: [
            ReviewChange(line: LineKey(orderID: 1, workID: nil, kind: .scrap, bucket: 0), quantity: -3, reason: "reduction",
                         sources: ["weld-1:3:7"]),
        ], cursor: ("reconcile", feed[feed.count / 2].position), now: now)
        try await sync.record(.attempt, posting: ids[0], claim: nil, now: now)
        try await sync.record(.acknowledge(documentRef: "production/17", note: "done"), posting: ids[0], claim: nil, now: now)
        try await sync.record(.deadLetter(error: "HTTP 500"), posting: ids[1], claim: nil, now: now)
        try await sync.recordTargetHealth("cmms", breaker: .open, failures: 5, success: false, error: "HTTP 500", now: now)
        try await sync.replaceUnassigned([
            UnassignedSpan(equipment: "weld-1", kind: .yield, material: "", after: nil, before: now, from: now - .seconds(600), to: now,
                           quantity: 12, events: [EventKey(edge: "weld-1", bootEpoch: 3, seq: 5)]),
        ], now: now)
        // A central that ran with synchronisation took a lease, and gave it up when it stopped.
        _ = try await sync.acquire("reconcile", holder: "central-a/host/1", ttl: .seconds(15))
        try await sync.release("reconcile", holder: "central-a/host/1")
        return PlantStore(dir: dir, ingest: ingest, sync: sync, batches: batches)
    }

    static func config(_ name: String, _ body: String) throws -> String {
        let path = try TemporaryDirectory.make(prefix: "migrate-config").appendingPathComponent("\(name).yaml").path
        try "central: \(name)\nbroker: { port: 1883 }\n\(body)\n".write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func migrate(from: String, to: String) throws -> (status: Int32, output: String) {
        try Executables.run(CentralProcess.binary, ["migrate-store", "--from", from, "--to", to], withStderr: true)
    }

    @Test func everythingMovesAndTheFeedResumesAtTheCursor() async throws {
        let plant = try await plantStore()
        let server = try PostgresServer.shared()
        let database = try server.createDatabase()
        let from = try Self.config("central-a", "data_dir: \(plant.dir.path)")
        let to = try Self.config("central-a", server.storeYAML(database: database))

        let run = try Self.migrate(from: from, to: to)
        #expect(run.status == 0, "migrate-store: \(run.output)")
        #expect(run.output.contains("events               5100"), "\(run.output)")

        let db = try await PostgresDatabase(settings: StoreBackend.settings(server, database), logger: StoreBackend.logger)
        defer { db.close() }
        let ingest = PostgresIngestStore(db)
        let sync = PostgresSyncState(db, holder: "central-a/host/2")

        // The events: same keys, bodies and order, edges and refusals as they were.
        let before = try await plant.ingest.events(after: .start, .all, limit: 100_000)
        let after = try #require(try await firstValue { () async throws -> [FeedEvent]? in
            let page = try await ingest.events(after: .start, .all, limit: 100_000)
            return page.count == before.count ? page : nil
        })
        #expect(after.map(Self.content) == before.map(Self.content))
        #expect(try await Self.same({ try await ingest.edges() }, { try await plant.ingest.edges() }))
        #expect(try await Self.same({ try await ingest.rejectedByReason() }, { try await plant.ingest.rejectedByReason() }))
        #expect(try await Self.same({ try await ingest.edgeClockOffsets() }, { try await plant.ingest.edgeClockOffsets() }))

        // The synchronisation's state, as it was.
        #expect(try await Self.same({ try await sync.postings() }, { try await plant.sync.postings() }))
        for p in try await plant.sync.postings() {
            #expect(try await Self.same({ try await sync.audit(postingID: p.id) }, { try await plant.sync.audit(postingID: p.id) }))
        }
        #expect(try await Self.same({ try await sync.reviewItems() }, { try await plant.sync.reviewItems() }))
        #expect(try await Self.same({ try await sync.unassigned() }, { try await plant.sync.unassigned() }))
        #expect(try await Self.same({ try await sync.targetHealth() }, { try await plant.sync.targetHealth() }))
        #expect(try await Self.same({ try await sync.orders() }, { try await plant.sync.orders() }))
        #expect(try await Self.same({ try await sync.orderImportTimes() }, { try await plant.sync.orderImportTimes() }))
        #expect(try await Self.same({ try await sync.assignmentChanges() }, { try await plant.sync.assignmentChanges() }))
        #expect(try await sync.leases().isEmpty, "leases name processes of the old store")

        // The reconcile cursor: exactly the events the SQLite cursor had not passed come next.
        let oldCursor = try await plant.sync.cursor("reconcile")
        let newCursor = try await sync.cursor("reconcile")
        let unread = try await plant.ingest.events(after: oldCursor, .all, limit: 100_000)
        #expect(unread.count == before.count - before.count / 2 - 1)
        #expect(try await ingest.events(after: newCursor, .all, limit: 100_000).map(Self.content) == unread.map(Self.content))

        // An edge resending a batch it sent before the move: every event recognised.
        let resent = try await ingest.commit([plant.batches[3]], rejected: [], now: now + .seconds(60))
        #expect(resent == [IngestOutcome(inserted: 0, duplicates: plant.batches[3].events.count)])
        // New events, postings and audit rows get ids after the moved ones, and the feed reads the
        // new events after the cursor's.
        _ = try await ingest.commit([try C.batch(edge: "press-1", id: "new", seqs: 2000...2009, epoch: 5)], rejected: [], now: now + .seconds(60))
        let fresh = try await sync.apply(postings: [NewPosting(idempotencyKey: "after-move", target: "cmms", kind: .maintenanceNotification,
                                                               payload: "{}", sources: [])], now: now + .seconds(60))
        let movedMax = try await plant.sync.postings().map(\.id).max() ?? 0
        #expect(fresh.count == 1 && fresh[0] > movedMax)
        let next = try await firstValue { () async throws -> [FeedEvent]? in
            let page = try await ingest.events(after: newCursor, .all, limit: 100_000)
            return page.count == unread.count + 10 ? page : nil
        }
        #expect(next?.suffix(10).map(\.seq) == Array(2000...2009))
        #expect(next?.suffix(10).map(\.position.row).min() ?? 0 > before.map(\.position.row).max() ?? .max)

        // The SQLite file now refuses to open, naming where its data went; a second run changes nothing.
        #expect(throws: CentralStore.StoreError.self) { _ = try CentralStore(path: plant.file) }
        let again = try Self.migrate(from: from, to: to)
        #expect(again.status == 4 && again.output.contains("was moved to postgresql://"), "\(again.output)")
        #expect(try await ingest.eventCount() == before.count + 10)
        let status = try Executables.run(CentralProcess.binary, ["status", "--config", from], withStderr: true)
        #expect(status.status != 0 && status.output.contains("was moved to"), "\(status.output)")
    }

    /// A central without synchronisation holds no lease, so the move cannot see it running: once the
    /// file is marked, it stores nothing more (and so acknowledges nothing the new store lacks).
    @Test func aCentralLeftRunningOnTheFileStoresNothingAfterTheMove() async throws {
        let plant = try await plantStore(events: 10)
        let server = try PostgresServer.shared()
        let run = try Self.migrate(from: try Self.config("a", "data_dir: \(plant.dir.path)"),
                                   to: try Self.config("a", server.storeYAML(database: try server.createDatabase())))
        #expect(run.status == 0, "\(run.output)")
        await #expect(throws: (any Error).self) {
            _ = try await plant.ingest.commit([try C.batch(edge: "late", seqs: 1...3)], rejected: [], now: now)
        }
        #expect(try await plant.ingest.eventCount() == 30)
    }

    @Test func aDatabaseThatHoldsDataIsRefusedAndLeftAsItWas() async throws {
        let plant = try await plantStore(events: 10)
        let server = try PostgresServer.shared()
        let database = try server.createDatabase()
        let db = try await PostgresDatabase(settings: StoreBackend.settings(server, database), logger: StoreBackend.logger)
        defer { db.close() }
        let ingest = PostgresIngestStore(db)
        _ = try await ingest.commit([try C.batch(edge: "other", seqs: 1...5)], rejected: [], now: now)

        let run = try Self.migrate(from: try Self.config("a", "data_dir: \(plant.dir.path)"),
                                   to: try Self.config("a", server.storeYAML(database: database)))
        #expect(run.status == 4 && run.output.contains("already holds data") && run.output.contains("events: 5"), "\(run.output)")
        #expect(try await ingest.eventCount() == 5)
        #expect(try await PostgresSyncState(db, holder: "t").postings().isEmpty)
        // The SQLite store was not marked: it still opens.
        #expect(try CentralStore(path: plant.file).eventCount() == 30)
    }

    @Test func aCentralStillRunningOnTheFileIsRefused() async throws {
        let plant = try await plantStore(events: 10)
        _ = try await plant.sync.acquire("reconcile", holder: "central-a/host/1", ttl: .seconds(600))
        let server = try PostgresServer.shared()
        let database = try server.createDatabase()
        let run = try Self.migrate(from: try Self.config("a", "data_dir: \(plant.dir.path)"),
                                   to: try Self.config("a", server.storeYAML(database: database)))
        #expect(run.status == 4 && run.output.contains("is still running") && run.output.contains("central-a/host/1"), "\(run.output)")
        let db = try await PostgresDatabase(settings: StoreBackend.settings(server, database), logger: StoreBackend.logger)
        defer { db.close() }
        #expect(try await PostgresIngestStore(db).eventCount() == 0)
    }

    /// Every column of every table a backend creates is either moved or named here as not moved, and
    /// is declared as `IngestTables`/`SyncTables` describe it (storage for its kind, null or not): a
    /// column a later migration adds, or declares differently on one backend, fails here. The
    /// tables' descriptions are the schema's one statement; each backend's migrations are checked
    /// against it.
    @Test func everyStoredColumnIsMoved() throws {
        let dir = try TemporaryDirectory.make(prefix: "migrate-columns")
        let file = dir.appendingPathComponent("central.sqlite").path
        _ = try SyncStore(central: try CentralStore(path: file))
        let notMoved: Set<String> = ["cursors", "leases", "store_moved", "grdb_migrations", "sqlite_sequence"]
        let tables = try Executables.run("sqlite3", [file, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"])
            .output.split(separator: "\n").map(String.init).filter { !notMoved.contains($0) }
        #expect(tables == StoreMigration.tables.map(\.name).sorted())
        // Each column as the backend declares it: name, storage for its kind, and whether it may be null.
        for table in StoreMigration.tables {
            let columns = try Executables.run("sqlite3", [file, "SELECT name || ' ' || upper(type) || ' ' || CASE WHEN \"notnull\" = 1 OR pk > 0 THEN 'NOT NULL' ELSE 'NULL' END FROM pragma_table_info('\(table.name)') ORDER BY cid"])
                .output.split(separator: "\n").map(String.init)
            #expect(Set(columns) == Set(table.columns.map(Self.sqliteDeclaration)), "SQLite \(table.name)")
        }
        // PostgreSQL: the same columns, plus its own feed and claim columns, which are not moved.
        let server = try PostgresServer.shared()
        let database = try server.createDatabase()
        _ = try Executables.run(CentralProcess.binary, ["status", "--config", try Self.config("a", server.storeYAML(database: database))])
        let ownColumns = ["events.txid", "postings.claimed_by", "postings.claim_until", "postings.claim_generation"]
        // Tables, not the partitions of `events` (by retention class and month).
        let pgTables = try server.psql(database, """
            SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
            AND c.relname NOT IN ('cursors', 'leases', 'schema_migrations', 'feed_offset') ORDER BY c.relname
            """).split(separator: "\n").map(String.init)
        #expect(pgTables == StoreMigration.tables.map(\.name).sorted())
        for table in StoreMigration.tables {
            let columns = try server.psql(database, """
                SELECT column_name || ' ' || CASE data_type WHEN 'integer' THEN 'bigint' ELSE data_type END || ' '
                    || CASE WHEN is_nullable = 'NO' THEN 'NOT NULL' ELSE 'NULL' END
                FROM information_schema.columns WHERE table_name = '\(table.name)'
                """).split(separator: "\n").map(String.init).filter { !ownColumns.contains("\(table.name).\($0.prefix { $0 != " " })") }
            #expect(Set(columns) == Set(table.columns.map(Self.postgresDeclaration)), "PostgreSQL \(table.name)")
        }
    }

    /// How the SQLite file declares a column of this kind (lists as JSON text, booleans as integers).
    static func sqliteDeclaration(_ c: TransferColumn) -> String {
        let type = switch c.kind {
        case .integer, .boolean: "INTEGER"
        case .real: "REAL"
        case .text, .textList: "TEXT"
        case .bytes: "BLOB"
        }
        return "\(c.name) \(type) \(c.nullable ? "NULL" : "NOT NULL")"
    }

    /// How PostgreSQL declares a column of this kind, as `information_schema` names it (a small count,
    /// such as a priority or attempts, is a 32-bit `integer` there: the query reads it as `bigint`).
    static func postgresDeclaration(_ c: TransferColumn) -> String {
        let type = switch c.kind {
        case .integer: "bigint"
        case .boolean: "boolean"
        case .real: "double precision"
        case .text: "text"
        case .textList: "ARRAY"
        case .bytes: "bytea"
        }
        return "\(c.name) \(type) \(c.nullable ? "NULL" : "NOT NULL")"
    }

    /// Whether the two stores answer the same.
    static func same<T: Equatable & Sendable>(_ a: () async throws -> T, _ b: () async throws -> T) async throws -> Bool {
        let x = try await a(), y = try await b()
        if x != y { Issue.record("PostgreSQL: \(x)\nSQLite: \(y)") }
        return x == y
    }

    static func content(_ e: FeedEvent) -> String {
        "\(e.edge):\(e.bootEpoch):\(e.seq) \(e.equipment) \(e.signal) \(e.type) \(e.occurredAt.milliseconds) \(e.centralReceivedAt.milliseconds) \(e.body)"
    }
}
