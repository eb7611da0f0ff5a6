@testable import CentralIngest
import CentralSQLite
import Foundation
import MillwrightCore
import TestSupport
import Testing

/// Retention as an operator meets it, through the real binary: the running central deletes expired
/// events on its own (archiving them first), `status` reports the run, and `archive load` puts a
/// day back, held from the next runs.
@Suite(.serialized) struct RetentionProcessTests {
    static func envelope(seq: Int64, type: EventType, occurred: Timestamp) -> String {
        let e = EventEnvelope(eventID: "gw-1-3-\(seq)", site: "plant-a", edge: "gw-1", equipment: "press-01", signal: "temp",
                              type: type, priority: type.defaultPriority, occurredAt: occurred, timeSource: .sensor,
                              edgeReceivedAt: occurred, values: ["mean": 1.5], rule: "window.temp", bootEpoch: 3, seq: seq)
        return String(decoding: try! JSONEncoder().encode(e), as: UTF8.self)
    }

    static func ingest(_ store: CentralStore, seqs: ClosedRange<Int64>, type: EventType, occurred: Timestamp, now: Timestamp) throws {
        let events = seqs.map { envelope(seq: $0, type: type, occurred: occurred + Millis($0)) }
        let payload = #"{"v":1,"batch":"b\#(seqs.lowerBound)","site":"plant-a","edge":"gw-1","sent_at":"x","events":[\#(events.joined(separator: ","))]}"#
        try store.ingest(topic: "millwright/v1/plant-a/gw-1/events", payload: Array(payload.utf8), now: now)
    }

    @Test func theRunningCentralDeletesArchivesAndLoadsBack() throws {
        let broker = try MosquittoBroker()
        defer { broker.stop() }
        let central = try CentralProcess(brokerPort: broker.port, extra: "retention: { every: 10s, summaries: 7d, archive: archive }")
        try #require(CentralProcess.backend == "sqlite", "this suite fills a SQLite store before the central starts")
        // Ten summaries from 30 days ago, and a recent state change (the newest row stays anyway).
        let old = Timestamp.now() - .days(30)
        do {
            let store = try CentralStore(path: central.dbPath)
            try Self.ingest(store, seqs: 1...10, type: .summary, occurred: old, now: old)
            try Self.ingest(store, seqs: 11...11, type: .stateChanged, occurred: .now(), now: .now())
        }
        try central.start()
        defer { central.stop() }
        func status() throws -> [String: Any] {
            let r = try Executables.run(CentralProcess.binary, ["status", "--json", "--config", central.configPath], withStderr: true)
            return (try? JSONSerialization.jsonObject(with: Data(r.output.utf8)) as? [String: Any]) ?? ["unreadable": r.output]
        }
        func storage(_ s: [String: Any]) -> [String: Any] { s["storage"] as? [String: Any] ?? [:] }
        var last: [String: Any] = [:]
        #expect(eventually(timeout: 90) {
            last = (try? status()) ?? last
            return ((storage(last)["last_run"] as? [String: Any])?["deleted"] as? [String: Int])?["summaries"] == 10
        }, "\(last)\n\(central.log)")
        #expect(storage(last)["next_run_after"] is String && (storage(last)["store_bytes"] as? Int ?? 0) > 0, "\(last)")
        #expect((storage(last)["oldest"] as? [String: String])?["summaries"] == nil, "no summary left: \(last)")
        let day = String(old.rfc3339.prefix(10))
        let file = central.dir.appendingPathComponent("archive/plant-a/\(day).jsonl.gz").path
        #expect(try EventArchive.read(file: file).map(\.seq).sorted() == Array(1...10))
        // The text form says the same.
        let text = try Executables.run(CentralProcess.binary, ["status", "--config", central.configPath], withStderr: true).output
        #expect(text.contains("retention: alarms 730d") && text.contains("summaries 7d (oldest none)") && text.contains("deleted 10 summaries"), "\(text)")

        let load = try Executables.run(CentralProcess.binary, ["archive", "load", "--config", central.configPath, "--hold", "2d", file], withStderr: true)
        #expect(load.status == 0 && load.output.contains("10 event(s), 10 put back, 0 already in the store"), "\(load.output)")
        let again = try Executables.run(CentralProcess.binary, ["archive", "load", "--config", central.configPath, file], withStderr: true)
        #expect(again.output.contains("0 put back, 10 already in the store"), "\(again.output)")
        let bad = try Executables.run(CentralProcess.binary, ["archive", "load", "--config", central.configPath, central.configPath], withStderr: true)
        #expect(bad.status == 1 && bad.output.contains("not gzip data"), "\(bad.output)")
        // Held: the next runs leave the loaded day alone.
        let held = try status()
        #expect(((storage(held)["holds"] as? [[String: Any]])?.first?["site"] as? String) == "plant-a", "\(held)")
        var next: [String: Any] = [:]
        #expect(eventually(timeout: 60) {
            next = (try? status()) ?? next
            return (storage(next)["last_run"] as? [String: Any])?["kept"] as? Int == 10
        }, "a run after the load keeps the held day: \(next)")
        let after = try status()
        #expect((storage(after)["oldest"] as? [String: String])?["summaries"] != nil, "the loaded summaries are still there: \(after)")
    }
}
