import CentralPostgres
import Foundation
import Logging
import MillwrightCore
import PostgresNIO
import TestSupport
import Testing
@testable import CentralIngest

/// Reading stored events back, as the synchronisation does, on every backend: in commit order,
/// filtered, by key and by event time, and the edge clock offsets learned at commit.
@Suite struct EventFeedContractTests {
    typealias C = IngestStoreContractTests
    let now = Timestamp(milliseconds: 1_764_000_100_000)

    @Test(arguments: StoreBackend.allCases)
    func followsCommitOrderWithACursorAndFilters(_ backend: StoreBackend) async throws {
        let store = try await backend.openIngest()
        _ = try await store.commit([try C.batch(seqs: 1...4), try C.batch(edge: "gw-2", seqs: 1...2)], rejected: [], now: now)
        _ = try await store.commit([try C.batch(seqs: 5...6)], rejected: [], now: now)
        // On PostgreSQL the feed holds back while any older transaction of the server is still
        // running (other tests' databases share it): follow it until everything arrived.
        var seen: [String] = []
        var cursor = FeedPosition.start
        let deadline = ContinuousClock.now + .seconds(60)
        while seen.count < 8, ContinuousClock.now < deadline {
            let page = try await store.events(after: cursor, .all, limit: 3)
            guard let last = page.last else {
                try await Task.sleep(for: .milliseconds(50))
                continue
            }
            #expect(page.count <= 3)
            #expect(page.map(\.position) == page.map(\.position).sorted() && page[0].position > cursor)
            seen += page.map { "\($0.edge)/\($0.seq)" }
            cursor = last.position
        }
        #expect(seen.count == 8 && Set(seen).count == 8)
        #expect(Array(seen.suffix(2)) == ["gw-1/5", "gw-1/6"], "the later commit comes later: \(seen)")
        #expect(try await store.events(after: cursor, .all, limit: 10).isEmpty)
        // Filters, and a filter that can match nothing.
        #expect(try await store.events(after: .start, FeedFilter(equipment: ["press-01"], types: [.stateChanged]), limit: 100).count == 8)
        #expect(try await store.events(after: .start, FeedFilter(types: [.count]), limit: 100).isEmpty)
        #expect(try await store.events(after: .start, FeedFilter(equipment: []), limit: 100).isEmpty)
        // By key, with the body exactly as sent.
        let one = try #require(try await store.event(edge: "gw-2", bootEpoch: 3, seq: 2))
        #expect(one.body == C.envelope(edge: "gw-2", seq: 2) && one.signal == "state" && one.centralReceivedAt == now)
        #expect(try await store.event(edge: "gw-2", bootEpoch: 3, seq: 9) == nil)
        // By event time: occurred_at is 1_764_000_000_000 + seq.
        let recent = try await store.events(occurredSince: Timestamp(milliseconds: 1_764_000_000_005), FeedFilter(equipment: ["press-01"]))
        #expect(Set(recent.map(\.seq)) == [5, 6])
        let window = try await store.events(occurredFrom: Timestamp(milliseconds: 1_764_000_000_002), before: Timestamp(milliseconds: 1_764_000_000_005),
                                            FeedFilter(equipment: ["press-01"]))
        #expect(Set(window.filter { $0.edge == "gw-1" }.map(\.seq)) == [2, 3, 4], "from inclusive, before exclusive")
        await store.close()
    }

    @Test(arguments: StoreBackend.allCases)
    func edgeClocksAreLearnedFromLiveEventsAtCommit(_ backend: StoreBackend) async throws {
        let store = try await backend.openIngest()
        // Edge receive times are 1_764_000_000_100 + seq; the central stores at `now` and later.
        _ = try await store.commit([try C.batch(seqs: 1...3)], rejected: [], now: now)
        _ = try await store.commit([try C.batch(seqs: 4...4)], rejected: [], now: now + .seconds(60))
        // Historical (backlog) events say nothing about transit: not learned from.
        var backlog = try C.batch(edge: "gw-2", seqs: 1...2)
        backlog.events = backlog.events.map { var e = $0; e.isHistorical = true; return e }
        _ = try await store.commit([backlog], rejected: [], now: now)
        let offsets = try await store.edgeClockOffsets()
        #expect(offsets == ["gw-1:3": now.milliseconds - 1_764_000_000_103], "\(offsets)")
        await store.close()
    }

    /// Two writers: the one that took the lower row id commits last. A cursor on row ids would read
    /// the later row first and skip the earlier one for good; the feed must hold back until both are final.
    @Test func postgresFeedNeverSkipsALateCommit() async throws {
        let server = try PostgresServer.shared()
        let name = try server.createDatabase()
        let db = try await PostgresDatabase(settings: StoreBackend.settings(server, name), logger: StoreBackend.logger)
        let store = PostgresIngestStore(db)
        let raw = PostgresClient(configuration: .init(host: "127.0.0.1", port: server.port, username: "millwright", password: nil,
                                                      database: name, tls: .disable), backgroundLogger: StoreBackend.logger)
        let runner = Task { await raw.run() }
        defer { runner.cancel() }
        let late = try C.batch(seqs: 1...1).events[0]
        let logger = StoreBackend.logger
        var whileOpen: [FeedEvent] = []
        try await raw.withTransaction(logger: logger) { c in
            try await c.query("""
                INSERT INTO events (edge, boot_epoch, seq, event_id, site, equipment, signal, type, priority, occurred_at,
                    edge_received_at, central_received_at, is_historical, body)
                VALUES (\(late.edge), \(late.bootEpoch), \(late.seq), \(late.eventID), \(late.site), \(late.equipment), \(late.signal),
                    \(late.type.rawValue), \(Int32(late.priority.rank)), \(late.occurredAt.milliseconds), \(late.edgeReceivedAt.milliseconds),
                    \(now.milliseconds), \(late.isHistorical), \(late.body))
                """, logger: logger)
            // Meanwhile another writer stores and commits seq 2 (a higher row id).
            _ = try await store.commit([try C.batch(id: "2", seqs: 2...2)], rejected: [], now: now)
            whileOpen = try await store.events(after: .start, .all, limit: 100)
        }
        #expect(whileOpen.isEmpty, "read before the earlier writer committed: \(whileOpen.map(\.seq))")
        let after = try await firstValue(every: .milliseconds(50)) { () async throws -> [FeedEvent]? in
            let page = try await store.events(after: .start, .all, limit: 100)
            return page.count < 2 ? nil : page
        } ?? []
        try #require(after.map(\.seq) == [1, 2])
        #expect(after[0].position.row < after[1].position.row)
        await store.close()
    }
}
