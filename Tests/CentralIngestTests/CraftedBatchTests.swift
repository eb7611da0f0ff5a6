@testable import CentralIngest
import CentralSQLite
import Foundation
import MillwrightCore
import Testing

/// Batches nobody's edge would send, as anyone who can publish on the central broker could:
/// each is refused with a typed reason and kept raw; none may trap the process.
@Suite struct CraftedBatchTests {
    let topic = "millwright/v1/plant-a/gw-1/events"

    /// A valid count event; `patch` rewrites its JSON text.
    func event(seq: Int, patch: (String) -> String = { $0 }) -> String {
        patch(#"{"edge":"gw-1","edge_received_at":"2026-11-24T10:00:00.100Z","equipment":"press-1","event_id":"e-\#(seq)","#
            + #""is_historical":false,"occurred_at":"2026-11-24T10:00:00.000Z","priority":"count","rule":"parts.counter","#
            + #""schema_version":1,"seq":\#(seq),"boot_epoch":3,"signal":"parts","site":"plant-a","time_source":"sensor","#
            + #""type":"count","values":{"delta":5,"from":"2026-11-24T09:59:00.000Z","raw":105,"to":"2026-11-24T10:00:00.000Z"}}"#)
    }

    func batch(_ events: [String]) -> [UInt8] {
        Array(#"{"v":1,"batch":"3-9","site":"plant-a","edge":"gw-1","sent_at":"x","events":[\#(events.joined(separator: ","))]}"#.utf8)
    }

    func refusal(_ payload: [UInt8]) -> RejectedBatch? {
        if case .failure(let r) = BatchDecoder.decode(topic: topic, payload: payload, maxBytes: 16 << 20) { return r }
        return nil
    }

    /// Refusal of a batch whose second event has `old` replaced by `new`.
    func refusal(replacing old: String, with new: String) -> RejectedBatch? {
        let bad = event(seq: 2) { $0.replacingOccurrences(of: old, with: new) }
        #expect(bad != event(seq: 2), "the patch must change the event")
        return refusal(batch([event(seq: 1), bad]))
    }

    @Test func theUnpatchedBatchIsValid() throws {
        let b = try BatchDecoder.decode(topic: topic, payload: batch([event(seq: 1), event(seq: 2)]), maxBytes: 1 << 20).get()
        #expect(b.events.count == 2)
    }

    @Test(arguments: [
        (#""occurred_at":"2026-11-24T10:00:00.000Z""#, #""occurred_at":1e19"#, BatchRefusalReason.outOfRange),
        (#""occurred_at":"2026-11-24T10:00:00.000Z""#, #""occurred_at":-1e19"#, .outOfRange),
        (#""occurred_at":"2026-11-24T10:00:00.000Z""#, #""occurred_at":1e400"#, .outOfRange),
        (#""occurred_at":"2026-11-24T10:00:00.000Z""#, #""occurred_at":-5"#, .outOfRange),
        (#""occurred_at":"2026-11-24T10:00:00.000Z""#, #""occurred_at":1764000000000.5"#, .outOfRange),
        (#""occurred_at":"2026-11-24T10:00:00.000Z""#, #""occurred_at":null"#, .invalidField),
        (#""edge_received_at":"2026-11-24T10:00:00.100Z""#, #""edge_received_at":9.3e18"#, .outOfRange),
        (#""seq":2"#, #""seq":1e300"#, .outOfRange),
        (#""seq":2"#, #""seq":9223372036854775807"#, .outOfRange),
        (#""seq":2"#, #""seq":-2"#, .outOfRange),
        (#""boot_epoch":3"#, #""boot_epoch":1e19"#, .outOfRange),
        (#""schema_version":1"#, #""schema_version":1e30"#, .unsupportedVersion),
        (#""delta":5"#, #""delta":null"#, .invalidValues),
        (#""delta":5"#, #""delta":-5"#, .outOfRange),
        (#""delta":5"#, #""delta":1e300"#, .outOfRange),
        (#""delta":5"#, #""delta":"5""#, .invalidValues),
        (#""delta":5"#, #""delta":{"n":5}"#, .invalidValues),
        (#""delta":5"#, #""delta":[5]"#, .invalidValues),
        (#""delta":5"#, #""d":5"#, .invalidValues),
        (#""raw":105"#, #""raw":null"#, .invalidValues),
        (#""raw":105"#, #""raw":1e999"#, .outOfRange),
        (#""from":"2026-11-24T09:59:00.000Z""#, #""from":"yesterday""#, .invalidValues),
        (#""values":{"#, #""values":[],"x":{"#, .invalidValues),
        (#""type":"count""#, #""type":7"#, .invalidField),
        (#""equipment":"press-1""#, #""equipment":["press-1"]"#, .invalidField),
        (#""is_historical":false"#, #""is_historical":0"#, .invalidField),
    ])
    func refusesEachCraftedField(old: String, new: String, kind: BatchRefusalReason) {
        let r = refusal(replacing: old, with: new)
        #expect(r?.kind == kind, "\(new): \(r?.description ?? "accepted")")
        // Readable batches still name their sequence numbers so the edge can let go of them.
        #expect(r?.ranges == [SeqRange(1, 2)] || r?.ranges == [SeqRange(1, 1)])
    }

    @Test func valuesMustBeAnObjectOfScalarsForEveryType() {
        let state = event(seq: 2) {
            $0.replacingOccurrences(of: #""type":"count""#, with: #""type":"state_changed""#)
                .replacingOccurrences(of: #""delta":5"#, with: #""state":null"#)
        }
        #expect(refusal(batch([event(seq: 1), state]))?.kind == .invalidValues)
        let noValues = event(seq: 2) { $0.replacingOccurrences(of: #""values":{"#, with: #""other":{"#) }
        #expect(refusal(batch([noValues]))?.kind == .invalidValues)
    }

    @Test func gapRecordsCarryAWholeCount() throws {
        func gap(_ count: String) -> String {
            event(seq: 1) {
                $0.replacingOccurrences(of: #""type":"count""#, with: #""type":"gap""#)
                    .replacingOccurrences(of: #""delta":5"#, with: #""count":\#(count)"#)
            }
        }
        #expect(refusal(batch([gap("1e30")]))?.kind == .outOfRange)
        #expect(refusal(batch([gap("2.5")]))?.kind == .outOfRange)
        let ok = try BatchDecoder.decode(topic: topic, payload: batch([gap("1500")]), maxBytes: 1 << 20).get()
        #expect(ok.events[0].droppedCount == 1500)
    }

    @Test func deepNestingAndHugeListsAreRefusedNotFatal() {
        let deep = batch([event(seq: 1) { $0.replacingOccurrences(of: #""raw":105"#, with: #""raw":"# + String(repeating: "[", count: 100_000)) }])
        #expect(refusal(deep)?.kind == .malformedJSON || refusal(deep)?.kind == .tooDeep)
        let nested = Array((String(repeating: "[", count: 200_000) + String(repeating: "]", count: 200_000)).utf8)
        #expect(refusal(nested)?.kind == .tooDeep)
        let many = batch(Array(repeating: "1", count: BatchDecoder.maxEvents + 1))
        #expect(refusal(many)?.kind == .badEventList)
        #expect(refusal(batch([]))?.kind == .badEventList)
        let notEvents = batch(["1", "\"x\"", "null"])
        #expect(refusal(notEvents)?.kind == .unsupportedVersion, "an event that is not an object has no schema_version")
    }

    @Test func aBatchTooBrokenToNameItsSeqsIsAnsweredByItsID() {
        var broken = batch([event(seq: 1)])
        broken.removeLast(3)  // truncated: not JSON any more
        let r = refusal(broken)
        #expect(r?.kind == .malformedJSON)
        #expect(r?.batch == "3-9", "answered by batch id so the edge stops resending")
        #expect(r?.ranges == [])
    }

    /// The central answers a refusal on the topic's ack topic only for a batch that edge could have
    /// written: one naming another edge (in its header or an event) gets no answer to anyone. The
    /// batch's epoch is echoed so the edge can tell an answer for an earlier run.
    @Test func refusalsNamingAnotherEdgeAreNotAnsweredAndTheEpochIsEchoed() {
        let otherEdge = Array(String(decoding: batch([event(seq: 1)]), as: UTF8.self)
            .replacingOccurrences(of: #""edge":"gw-1","sent_at""#, with: #""edge":"gw-2","sent_at""#).utf8)
        #expect(refusal(otherEdge)?.kind == .wrongEdge)
        #expect(refusal(otherEdge)?.answered == false)
        let eventOfOther = refusal(batch([event(seq: 1), event(seq: 2) { $0.replacingOccurrences(of: #""edge":"gw-1""#, with: #""edge":"gw-2""#) }]))
        #expect(eventOfOther?.kind == .wrongEdge)
        #expect(eventOfOther?.answered == false)
        let invalid = refusal(replacing: #""delta":5"#, with: #""delta":null"#)
        #expect(invalid?.answered == true)
        #expect(invalid?.ranges == [SeqRange(1, 2)])

        let withEpoch = Array(String(decoding: batch([event(seq: 1)]), as: UTF8.self)
            .replacingOccurrences(of: #""batch":"3-9","#, with: #""batch":"3-9","epoch":3,"#).utf8)
        guard case .success(let valid) = BatchDecoder.decode(topic: topic, payload: withEpoch, maxBytes: 1 << 20) else {
            Issue.record("a batch with an epoch is valid")
            return
        }
        #expect(valid.epoch == 3)
        let badEpoch = Array(String(decoding: withEpoch, as: UTF8.self).replacingOccurrences(of: #""epoch":3"#, with: #""epoch":-1"#).utf8)
        #expect(refusal(badEpoch)?.kind == .badHeader)
    }

    @Test func refusalsAreKeptRawAndCountedPerReason() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("crafted-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try CentralStore(path: dir.appendingPathComponent("central.sqlite").path)
        for payload in [batch([event(seq: 1) { $0.replacingOccurrences(of: #""seq":1"#, with: #""seq":1e300"#) }]),
                        batch([event(seq: 1) { $0.replacingOccurrences(of: #""delta":5"#, with: #""delta":null"#) }]),
                        Array("{".utf8)] {
            #expect(throws: RejectedBatch.self) { try store.ingest(topic: topic, payload: payload) }
        }
        #expect(try store.rejectedByReason() == ["out_of_range": 1, "invalid_values": 1, "malformed_json": 1])
        try store.ingest(topic: topic, payload: batch([event(seq: 1)]))
        #expect(try store.eventCount() == 1)
    }
}
