@testable import CentralIngest
import CentralSQLite
import Foundation
import MillwrightCore
import Testing

@Suite struct BatchDecoderTests {
    func envelope(seq: Int64, edge: String = "gw-1", values: [String: Value] = ["state": "running"]) -> String {
        var e = EventEnvelope(eventID: "id-\(seq)", site: "plant-a", edge: edge, equipment: "m1", signal: "state",
                              type: .stateChanged, priority: .state, occurredAt: Timestamp(milliseconds: 1_764_000_000_000 + seq),
                              timeSource: .sensor, edgeReceivedAt: Timestamp(milliseconds: 1_764_000_000_100 + seq),
                              values: values, rule: "state.state", bootEpoch: 7, seq: seq)
        e.isHistorical = seq % 2 == 0
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try! encoder.encode(e), as: UTF8.self)
    }

    func batch(_ events: [String], v: Int = 1, edge: String = "gw-1") -> [UInt8] {
        Array(#"{"v":\#(v),"batch":"7-1","site":"plant-a","edge":"\#(edge)","sent_at":"x","events":[\#(events.joined(separator: ","))]}"#.utf8)
    }

    let topic = "millwright/v1/plant-a/gw-1/events"

    @Test func storesEachEventExactlyAsTheEdgeSentIt() throws {
        let bodies = [envelope(seq: 1), envelope(seq: 2, values: ["note": "a \"quoted\" ] } , text"]), envelope(seq: 3)]
        let b = try BatchDecoder.decode(topic: topic, payload: batch(bodies), maxBytes: 1 << 20).get()
        #expect(b.events.map(\.body) == bodies)
        #expect(b.events.map(\.seq) == [1, 2, 3])
        #expect(b.events.map(\.isHistorical) == [false, true, false])
        #expect(b.batch == "7-1")
    }

    @Test func spansSurviveWhitespaceAndKeyOrder() {
        let doc = Array(#"{ "batch" : "x", "nested": {"events": [9]}, "events" : [ {"a":[1,{"b":"]"}]} , 2 ,"s\"" ] , "z": 1 }"#.utf8)
        let spans = RawJSONSpans.arrayElements(of: "events", in: doc) ?? []
        #expect(spans.map { String(decoding: doc[$0], as: UTF8.self) } == [#"{"a":[1,{"b":"]"}]}"#, "2", #""s\"""#])
        #expect(RawJSONSpans.arrayElements(of: "missing", in: doc) == nil)
    }

    @Test func refusesWholeBatchesWithReasons() {
        func reason(_ payload: [UInt8], topic t: String? = nil) -> String? {
            if case .failure(let r) = BatchDecoder.decode(topic: t ?? topic, payload: payload, maxBytes: 4096) { return r.reason }
            return nil
        }
        #expect(reason(batch([envelope(seq: 1)], v: 2))?.contains("protocol version 2") == true)
        #expect(reason(batch([envelope(seq: 1)], edge: "gw-2"))?.contains("arrived on the topic") == true)
        #expect(reason(batch([envelope(seq: 1), envelope(seq: 2, edge: "gw-9")]))?.contains("event 1: belongs to") == true)
        #expect(reason(Array("not json".utf8))?.contains("unreadable") == true)
        #expect(reason(batch((1...40).map { envelope(seq: $0) }))?.contains("max_batch_bytes") == true)
        #expect(reason(batch([envelope(seq: 1)]), topic: "millwright/v1/plant-a/gw-1/status") == "not an events topic")
        // A refused batch still names its sequence numbers, so the edge can let go of them.
        if case .failure(let r) = BatchDecoder.decode(topic: topic, payload: batch([envelope(seq: 4), envelope(seq: 5)], v: 2), maxBytes: 1 << 20) {
            #expect(r.ranges == [SeqRange(4, 5)])
        } else {
            Issue.record("expected a refusal")
        }
    }

    @Test func centralCommitsAreFullySynchronous() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("central-sync-\(UUID().uuidString.prefix(8))")
        let store = try CentralStore(path: dir.appendingPathComponent("central.sqlite").path)
        #expect(try store.synchronousMode() == 2, "an ack promises the central's commit is durable")
    }

    @Test func refusesEventsWithMissingOrMistypedFields() {
        func reason(_ mutate: (String) -> String) -> String? {
            let payload = batch([envelope(seq: 1), mutate(envelope(seq: 2))])
            if case .failure(let r) = BatchDecoder.decode(topic: topic, payload: payload, maxBytes: 1 << 20) { return r.reason }
            return nil
        }
        #expect(reason { $0.replacingOccurrences(of: #""is_historical":true"#, with: #""is_historical":"no""#) }?
            .contains("event 1: is_historical must be true or false") == true)
        #expect(reason { $0.replacingOccurrences(of: #""type":"state_changed""#, with: #""type":"explosion""#) }?
            .contains("unknown type explosion") == true)
        #expect(reason { $0.replacingOccurrences(of: #""event_id":"id-2""#, with: #""event_id":"""#) }?.contains("no event_id") == true)
        #expect(reason { $0.replacingOccurrences(of: #""seq":2"#, with: #""seq":2.5"#) }?.contains("boot_epoch/seq") == true)
        #expect(reason { $0.replacingOccurrences(of: #""schema_version":1"#, with: #""schema_version":2"#) }?.contains("schema_version") == true)
        #expect(reason { $0 + "," } != nil, "a trailing comma is malformed JSON")
        #expect(reason { $0 } == nil)
    }

    @Test func seqRangesMerge() {
        #expect(SeqRange.covering([5, 1, 2, 3, 9, 10, 7]) == [SeqRange(1, 3), SeqRange(5, 5), SeqRange(7, 7), SeqRange(9, 10)])
        #expect(SeqRange.covering([]) == [])
    }
}

@Suite struct JSONMembersTests {
    func scan(_ text: String) throws -> [(key: String, value: JSONScalar)]? {
        let bytes = Array(text.utf8)
        return try bytes.withUnsafeBytes { try JSONPathScanner.scan($0, paths: [JSONPath(parsing: "a")!], membersOf: JSONPath(parsing: "v")!) }.members
    }

    @Test func membersOfAnObjectAreReturnedInOrder() throws {
        let m = try scan(#"{"a":1,"v":{"x":1.5,"y\u0041":"t","z":null,"w":[1],"q":{"r":1},"b":true},"after":{"x":2}}"#)
        #expect(m?.map(\.key) == ["x", "yA", "z", "w", "q", "b"])
        #expect(m?.map(\.value) == [.number(1.5), .string("t"), .null, .container, .container, .bool(true)])
        #expect(try scan(#"{"v":{}}"#)?.isEmpty == true)
        #expect(try scan(#"{"v":[1,2]}"#) == nil, "a list is not an object")
        #expect(try scan(#"{"w":{"x":1}}"#) == nil, "absent")
    }
}
