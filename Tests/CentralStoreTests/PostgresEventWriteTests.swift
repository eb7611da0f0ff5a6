import CentralPostgres
import Foundation
import MillwrightCore
import TestSupport
import Testing
@testable import CentralIngest

/// Both ways the PostgreSQL ingest store can write events (`EventWrite`: one INSERT of bound
/// arrays, or COPY into a temporary table) store exactly what the decoder handed over, skip
/// duplicates and report what was new; text that COPY's format must escape comes back unchanged.
@Suite struct PostgresEventWriteTests {
    let now = Timestamp(milliseconds: 1_764_000_100_000)

    static func envelope(seq: Int64, equipment: String, note: String) -> String {
        let e = EventEnvelope(eventID: "gw-1-3-\(seq)", site: "plant-a", edge: "gw-1", equipment: equipment, signal: "state",
                              type: .stateChanged, priority: .state, occurredAt: Timestamp(milliseconds: 1_764_000_000_000 + seq),
                              timeSource: .sensor, edgeReceivedAt: Timestamp(milliseconds: 1_764_000_000_100 + seq),
                              values: ["state": "running", "note": .text(note)], rule: "state.state", bootEpoch: 3, seq: seq)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try! encoder.encode(e), as: UTF8.self)
    }

    static func batch(id: String, seqs: ClosedRange<Int64>) throws -> ValidBatch {
        // Text COPY must escape and text it must not touch, in the body and in an indexed column.
        // The decoder refuses control characters in fields, and JSON has none raw, so what reaches
        // COPY is backslashes (JSON's own escapes too), quotes, braces, commas, `\N` and non-ASCII.
        let notes = ["tab\there", "line\nbreak\r\n", #"back\slash \N {a,"b"}"#, "Kühlmittel ✓", "plain"]
        let events = seqs.map { seq in
            envelope(seq: seq, equipment: [#"press "7" \ Linie ü"#, #"press\N {8,"9"}"#, "press-01"][Int(seq) % 3], note: notes[Int(seq) % notes.count])
        }
        return try BatchDecoder.decode(topic: IngestStoreContractTests.topic("gw-1"),
                                       payload: IngestStoreContractTests.payload(edge: "gw-1", batch: id, events), maxBytes: 16 << 20).get()
    }

    @Test(arguments: EventWrite.allCases)
    func storesExactlyWhatWasDecoded(_ method: EventWrite) async throws {
        let store = PostgresIngestStore(try await StoreBackend.freshPostgres(), eventWrite: method)
        let first = try Self.batch(id: "1", seqs: 1...40)
        #expect(try await store.commit([first], rejected: [], now: now) == [IngestOutcome(inserted: 40, duplicates: 0)])
        // A resend overlapping the first beside a new batch, and one event twice in one commit.
        let resend = try Self.batch(id: "2", seqs: 31...60)
        let again = try Self.batch(id: "3", seqs: 60...61)
        #expect(try await store.commit([resend, again], rejected: [], now: now + Millis(5))
                == [IngestOutcome(inserted: 20, duplicates: 10), IngestOutcome(inserted: 1, duplicates: 1)])
        #expect(try await store.eventCount() == 61)

        // The feed holds back while any older transaction of the server runs (other tests share it).
        var stored: [FeedEvent] = []
        let deadline = ContinuousClock.now + .seconds(60)
        while stored.count < 61, ContinuousClock.now < deadline {
            let page = try await store.events(after: stored.last?.position ?? .start, .all, limit: 1000)
            if page.isEmpty { try await Task.sleep(for: .milliseconds(50)) }
            stored += page
        }
        let sent = (first.events + resend.events.filter { $0.seq > 40 } + again.events.filter { $0.seq == 61 })
        #expect(stored.map(\.seq) == Array(1...61))
        for (s, e) in zip(stored, sent) {
            #expect(s.body == e.body)
            #expect((s.edge, s.bootEpoch, s.equipment, s.signal, s.type) == (e.edge, e.bootEpoch, e.equipment, e.signal, e.type))
            #expect(s.occurredAt == e.occurredAt)
        }
        #expect(stored.first?.centralReceivedAt == now && stored.last?.centralReceivedAt == now + Millis(5))
        let edge = try #require(try await store.edges().first)
        #expect((edge.events, edge.duplicates, edge.batches, edge.lastSeq) == (61, 11, 3, 61))
        await store.close()
    }
}
