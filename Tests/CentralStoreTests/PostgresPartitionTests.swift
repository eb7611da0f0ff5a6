import CentralSync
import Foundation
import MillwrightCore
import TestSupport
import Testing
@testable import CentralIngest
@testable import CentralPostgres

/// `events` on PostgreSQL is partitioned by retention class and month, so retention drops a month
/// in one statement: the partitions list exactly the types of each class, a store of the earlier
/// schema moves over on upgrade with its ids and feed order, duplicates stay duplicates, and an
/// expired month that holds nothing needed is dropped whole (archived first).
@Suite(.serialized) struct PostgresPartitionTests {
    typealias C = IngestStoreContractTests

    @Test func eachClassPartitionListsItsTypes() async throws {
        let db = try await StoreBackend.freshPostgres()
        defer { db.close() }
        let server = try PostgresServer.shared()
        for c in RetentionClass.allCases {
            let bound = try server.psql(db.settings.database, "SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE relname = 'events_\(c.rawValue)'")
            let listed = Set(bound.split(separator: "'").enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) })
            #expect(listed == Set(c.types.map(\.rawValue)), "events_\(c.rawValue): \(bound)")
        }
    }

    @Test func anEarlierStoreMovesIntoPartitionsWithItsIdsAndFeedOrder() async throws {
        let server = try PostgresServer.shared()
        let name = try server.createDatabase()
        // The schema as the previous release left it, with events in it.
        var sql = "CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now());\n"
        for step in PostgresMigrations.steps where step.name != "retention v2: events partitioned by class and month" {
            for q in step.sql { sql += q + ";\n" }
            sql += "INSERT INTO schema_migrations (name) VALUES ('\(step.name)');\n"
        }
        try server.psql(name, sql)
        let threeYearsAgo = Timestamp.now() - .days(3 * 365)
        try server.psql(name, """
            INSERT INTO events (edge, boot_epoch, seq, event_id, site, equipment, signal, type, priority, occurred_at, edge_received_at,
                central_received_at, is_historical, body)
            SELECT 'gw-1', 3, s, 'e' || s, 'plant-a', 'press-01', 'state', CASE WHEN s % 2 = 0 THEN 'count' ELSE 'state_changed' END, 1,
                \(Timestamp.now().milliseconds) - s * 1000, 0, 0, false, '{}' FROM generate_series(1, 40) AS s;
            INSERT INTO events (edge, boot_epoch, seq, event_id, site, equipment, signal, type, priority, occurred_at, edge_received_at,
                central_received_at, is_historical, body)
            VALUES ('gw-1', 3, 41, 'e41', 'plant-a', 'press-01', 'state', 'state_changed', 2, \(threeYearsAgo.milliseconds), 0, 0, false, '{}');
            """)
        let before = try server.psql(name, "SELECT string_agg(id::text || ':' || seq, ',' ORDER BY txid, id) FROM events")

        // Opening it migrates.
        let db = try await PostgresDatabase(settings: StoreBackend.settings(server, name), logger: StoreBackend.logger)
        defer { db.close() }
        #expect(try server.psql(name, "SELECT string_agg(id::text || ':' || seq, ',' ORDER BY txid, id) FROM events") == before)
        #expect(try server.psql(name, "SELECT relkind FROM pg_class WHERE relname = 'events'") == "p")
        #expect(try server.psql(name, "SELECT count(*) FROM events_counts") == "20")
        #expect(try server.psql(name, "SELECT count(*) FROM events_counts_default") == "0", "this month's counts are in a month's partition")
        #expect(try server.psql(name, "SELECT seq FROM events_states_default") == "41", "older than the months made: the default partition")
        // New ids continue after the moved ones, and a resent event is still a duplicate.
        let store = PostgresIngestStore(db)
        let batch = try C.batch(seqs: 100...101)
        #expect(try await store.commit([batch], rejected: [], now: .now()) == [IngestOutcome(inserted: 2, duplicates: 0)])
        #expect(try await store.commit([batch], rejected: [], now: .now()) == [IngestOutcome(inserted: 0, duplicates: 2)])
        #expect(try server.psql(name, "SELECT min(id) > 41 FROM events WHERE seq >= 100") == "t")
    }

    @Test func anExpiredMonthHoldingNothingNeededIsDroppedWhole() async throws {
        let db = try await StoreBackend.freshPostgres()
        defer { db.close() }
        let server = try PostgresServer.shared()
        let store = PostgresIngestStore(db)
        let retention = PostgresRetentionStore(db)
        // State changes of 2025-11-24 (IngestStoreContractTests' times), stored then; one recent event after them.
        let t0 = Timestamp(milliseconds: 1_764_000_100_000)
        _ = try await store.commit([try C.batch(seqs: 1...30)], rejected: [], now: t0)
        let recent = EventEnvelope(eventID: "gw-2-3-1", site: "plant-a", edge: "gw-2", equipment: "press-01", signal: "state",
                                   type: .stateChanged, priority: .state, occurredAt: .now(), timeSource: .sensor, edgeReceivedAt: .now(),
                                   values: ["state": "running"], rule: "state.state", bootEpoch: 3, seq: 1)
        let payload = C.payload(edge: "gw-2", batch: "r", [String(decoding: try JSONEncoder().encode(recent), as: UTF8.self)])
        _ = try await store.commit([try BatchDecoder.decode(topic: C.topic("gw-2"), payload: payload, maxBytes: 1 << 20).get()], rejected: [], now: .now())
        let archive = try TemporaryDirectory.make(prefix: "pg-archive")
        var settings = RetentionSettings()
        settings.archiveDir = archive.path
        let run = await RetentionJob(settings: settings, store: retention, needs: nil, feedCursor: nil, logger: StoreBackend.logger)
            .run(now: t0 + .days(400))
        #expect(run.deleted == ["states": 30] && run.archived == 30 && run.error == nil, "\(run)")
        #expect(try server.psql(db.settings.database, "SELECT count(*) FROM pg_class WHERE relname = 'events_states_y2025m11'") == "0", "dropped")
        #expect(try server.psql(db.settings.database, "SELECT count(*) FROM pg_class WHERE relname = 'events_summaries_y2025m11'") == "0",
                "an empty month past its class's retention goes too")
        #expect(try EventArchive.read(file: EventArchive(directory: archive.path).file(site: "plant-a", day: "2025-11-24")).count == 30)
        #expect(try await store.eventCount() == 1)
        // The month comes back when an event of it arrives late (the default partition takes it meanwhile).
        _ = try await store.commit([try C.batch(seqs: 31...31)], rejected: [], now: .now())
        #expect(try server.psql(db.settings.database, "SELECT tableoid::regclass FROM events WHERE seq = 31") == "events_states_default")
    }
}
