import CentralPostgres
import Foundation
import MillwrightCore
import TestSupport
import Testing
@testable import CentralIngest

/// One behaviour, every backend: what the ingest service and the commands rely on from an
/// `IngestStore`, checked on SQLite and on a real PostgreSQL alike.
@Suite struct IngestStoreContractTests {
    static func envelope(edge: String, seq: Int64, epoch: Int64 = 3, type: EventType = .stateChanged,
                         values: [String: Value] = ["state": "running"]) -> String {
        let e = EventEnvelope(eventID: "\(edge)-\(epoch)-\(seq)", site: "plant-a", edge: edge, equipment: "press-01", signal: "state",
                              type: type, priority: .state, occurredAt: Timestamp(milliseconds: 1_764_000_000_000 + seq),
                              timeSource: .sensor, edgeReceivedAt: Timestamp(milliseconds: 1_764_000_000_100 + seq),
                              values: values, rule: "state.state", bootEpoch: epoch, seq: seq)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try! encoder.encode(e), as: UTF8.self)
    }

    static func payload(edge: String, batch: String, _ events: [String]) -> [UInt8] {
        Array(#"{"v":1,"batch":"\#(batch)","site":"plant-a","edge":"\#(edge)","sent_at":"x","events":[\#(events.joined(separator: ","))]}"#.utf8)
    }

    static func topic(_ edge: String) -> String { "millwright/v1/plant-a/\(edge)/events" }

    /// A validated batch, through the same decoder the ingest service uses.
    static func batch(edge: String = "gw-1", id: String = "b", seqs: some Sequence<Int64>, epoch: Int64 = 3) throws -> ValidBatch {
        let events = seqs.map { envelope(edge: edge, seq: $0, epoch: epoch) }
        return try BatchDecoder.decode(topic: topic(edge), payload: payload(edge: edge, batch: id, events), maxBytes: 16 << 20).get()
    }

    static func refused(_ bytes: [UInt8], edge: String = "gw-1") -> RejectedBatch? {
        if case .failure(let r) = BatchDecoder.decode(topic: topic(edge), payload: bytes, maxBytes: 16 << 20) { return r }
        return nil
    }

    let now = Timestamp(milliseconds: 1_764_000_100_000)

    @Test(arguments: StoreBackend.allCases)
    func storesEachEventOnceAndCountsDuplicates(_ backend: StoreBackend) async throws {
        let store = try await backend.openIngest()
        let first = try await store.commit([try Self.batch(id: "1", seqs: 1...5)], rejected: [], now: now)
        #expect(first == [IngestOutcome(inserted: 5, duplicates: 0)])
        // A resend overlapping the first, and a batch of another edge in the same transaction.
        let second = try await store.commit([try Self.batch(id: "2", seqs: 4...8), try Self.batch(edge: "gw-2", id: "1", seqs: 1...2)],
                                            rejected: [], now: now)
        #expect(second == [IngestOutcome(inserted: 3, duplicates: 2), IngestOutcome(inserted: 2, duplicates: 0)])
        #expect(try await store.eventCount() == 10)
        let edges = try await store.edges()
        #expect(edges.map(\.edge) == ["gw-1", "gw-2"])
        let gw1 = try #require(edges.first)
        #expect((gw1.events, gw1.duplicates, gw1.batches, gw1.lastSeq, gw1.lastEpoch) == (8, 2, 2, 8, 3))
        #expect(gw1.firstSeen == now && gw1.site == "plant-a")
        await store.close()
    }

    @Test(arguments: StoreBackend.allCases)
    func anEventTwiceInOneCommitIsNewOnce(_ backend: StoreBackend) async throws {
        let store = try await backend.openIngest()
        let out = try await store.commit([try Self.batch(id: "1", seqs: 1...3), try Self.batch(id: "2", seqs: 2...4)], rejected: [], now: now)
        #expect(out == [IngestOutcome(inserted: 3, duplicates: 0), IngestOutcome(inserted: 1, duplicates: 2)])
        #expect(try await store.eventCount() == 4)
        await store.close()
    }

    @Test(arguments: StoreBackend.allCases)
    func gapRecordsAreCountedWithWhatTheEdgeDropped(_ backend: StoreBackend) async throws {
        let store = try await backend.openIngest()
        let gap = Self.envelope(edge: "gw-1", seq: 9, type: .gap, values: ["count": 120, "reason": "capacity"])
        let b = try BatchDecoder.decode(topic: Self.topic("gw-1"), payload: Self.payload(edge: "gw-1", batch: "g", [gap]), maxBytes: 1 << 20).get()
        _ = try await store.commit([b, b], rejected: [], now: now)
        let e = try #require(try await store.edges().first)
        #expect((e.gapEvents, e.droppedReported, e.events, e.duplicates) == (1, 120, 1, 1))
        await store.close()
    }

    @Test(arguments: StoreBackend.allCases)
    func refusedBatchesAreKeptAndCountedByReason(_ backend: StoreBackend) async throws {
        let store = try await backend.openIngest()
        let bad = try #require(Self.refused(Array("{not json".utf8)))
        let old = try #require(Self.refused(Self.payload(edge: "gw-1", batch: "x", [Self.envelope(edge: "gw-1", seq: 1)])
            .replacing(Array(#""v":1"#.utf8), with: Array(#""v":9"#.utf8))))
        // A NUL in what is shown (topic, reason) must not fail the commit that keeps the batch.
        var nul = bad
        nul.topic = "millwright/v1/plant-a/gw-1/events\u{0}"
        _ = try await store.commit([try Self.batch(seqs: 1...2)], rejected: [bad, old, nul], now: now)
        let byReason = try await store.rejectedByReason()
        #expect(byReason[bad.kind.rawValue] == 2)
        #expect(byReason[old.kind.rawValue] == 1)
        #expect(byReason.values.reduce(0, +) == 3)
        #expect(try await store.eventCount() == 2)
        await store.close()
    }

    @Test(arguments: StoreBackend.allCases)
    func statusIsKeptBesideTheEdgeEvenBeforeItsFirstBatch(_ backend: StoreBackend) async throws {
        let store = try await backend.openIngest()
        try await store.recordStatus(edge: "gw-9", site: "plant-b", json: #"{"state":"online"}"#, at: now)
        try await store.recordStatus(edge: "gw-9", site: "plant-b", json: #"{"state":"draining"}"#, at: now)
        _ = try await store.commit([try Self.batch(edge: "gw-9", seqs: 1...1)].map { b in
            var b = b
            b.site = "plant-b"
            return b
        }, rejected: [], now: now)
        let e = try #require(try await store.edges().first { $0.edge == "gw-9" })
        #expect(e.status == #"{"state":"draining"}"#)
        #expect(e.events == 1 && e.batches == 1)
        await store.close()
    }

    /// Several writers offering overlapping batches at once (replicas handed the same batch after
    /// a failover): every key is stored once and is new for exactly one of them.
    @Test(arguments: StoreBackend.allCases)
    func concurrentWritersStoreEachKeyOnce(_ backend: StoreBackend) async throws {
        let stores: [any IngestStore]
        switch backend {
        case .sqlite:
            let one = try await backend.openIngest()
            stores = [one, one, one]
        case .postgresql:
            // Three pools on one database: three replicas.
            let server = try PostgresServer.shared()
            let name = try server.createDatabase()
            var opened: [any IngestStore] = []
            for _ in 0..<3 {
                opened.append(PostgresIngestStore(try await PostgresDatabase(settings: StoreBackend.settings(server, name), logger: StoreBackend.logger)))
            }
            stores = opened
        }
        let now = self.now
        let inserted = try await withThrowingTaskGroup(of: Int.self) { group in
            for writer in 0..<3 {
                for round in 0..<20 {
                    // Overlapping windows of two edges, in different orders per writer.
                    let start = Int64(round * 25 + writer * 7 + 1)
                    let edges = writer % 2 == 0 ? ["gw-1", "gw-2"] : ["gw-2", "gw-1"]
                    let batches = try edges.map { try Self.batch(edge: $0, id: "\(writer)-\(round)", seqs: start...(start + 39)) }
                    group.addTask { try await stores[writer].commit(batches, rejected: [], now: now).map(\.inserted).reduce(0, +) }
                }
            }
            return try await group.reduce(0, +)
        }
        var distinct = Set<Int64>()
        for w in 0..<3 {
            for r in 0..<20 {
                let start = Int64(r * 25 + w * 7 + 1)
                distinct.formUnion(start...(start + 39))
            }
        }
        let expected: Int = 2 * distinct.count
        let offered: Int = 3 * 20 * 2 * 40
        #expect(inserted == expected)
        #expect(try await stores[0].eventCount() == expected)
        let edges = try await stores[0].edges()
        let stored: Int = edges.map(\.events).reduce(0, +)
        let duplicates: Int = edges.map(\.duplicates).reduce(0, +)
        #expect(stored == expected)
        #expect(duplicates == offered - expected)
        for s in stores { await s.close() }
    }
}
