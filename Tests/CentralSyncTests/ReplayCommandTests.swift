import CentralIngest
import CentralSQLite
import CentralSync
import Foundation
import MillwrightCore
import TestSupport
import Testing

/// `postings replay --payload-file` as an operator meets it (central/README.md, "Posting payloads"):
/// an edit that does not fit the posting's kind is refused with the field and the reason, exit 1,
/// and the stored posting stays as it was; a fitting edit is queued with its key. The real binary
/// on a real SQLite store.
@Suite struct ReplayCommandTests {
    @Test func aMisfitEditIsRefusedWithTheFieldAndAFittingOneIsQueued() async throws {
        let dir = try TemporaryDirectory.make(prefix: "replay-cli")
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("central.yaml").path
        try "central: replay-test\ndata_dir: \(dir.path)\nbroker: { host: 127.0.0.1, port: 1 }\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        // A yield posting the target refused three times: a dead letter.
        let key = "yield:1/2/yield//0:r1"
        let payload = MovePayload(key: key, kind: .yield, orderID: 1, orderNumber: "MO1", orderReference: "PO-1", companyID: 1,
                                  quantity: 5, postingDate: "2026-12-07", eventTime: Timestamp(milliseconds: 1_765_100_000_000),
                                  revision: 1, line: "1/2/yield//0", events: 5, unitPrice: 0, productID: 5, productCode: "WIDGET",
                                  unitID: 1, fromLocationID: 7, toLocationID: 10)
        let original = try payload.encoded()
        let id: Int64
        do {
            let store = try CentralStore(path: dir.appendingPathComponent("central.sqlite").path)
            let sync = SQLiteSyncState(try SyncStore(central: store))
            let now = Timestamp.now()
            id = try #require(try await sync.apply(postings: [NewPosting(idempotencyKey: key, target: "tryton", kind: .yield, line: "1/2/yield//0",
                                                                          orderID: 1, quantity: 5, payload: original, sources: ["gw-1:1:1"])],
                                                   reviews: [], cursor: nil, now: now).first)
            try await sync.record(.attempt, posting: id, claim: nil, now: now)
            try await sync.record(.deadLetter(error: "To Location is inactive"), posting: id, claim: nil, now: now)
        }
        func replay(_ edited: String) throws -> (status: Int32, output: String) {
            let file = dir.appendingPathComponent("fixed.json").path
            try edited.write(toFile: file, atomically: true, encoding: .utf8)
            return try Executables.run(CentralProcess.binary, ["postings", "replay", "--config", config, "\(id)", "--payload-file", file],
                                       withStderr: true)
        }
        func show() throws -> String {
            try Executables.run(CentralProcess.binary, ["postings", "show", "--config", config, "\(id)"], withStderr: true).output
        }

        // The operator misspells the field while pointing the move at another location.
        let typo = original.replacingOccurrences(of: #""to_location_id":10"#, with: #""to_locaton_id":4"#)
        let refused = try replay(typo)
        #expect(refused.status == 1, "\(refused.output)")
        #expect(refused.output.contains(#"replay refused: the edited payload is refused, nothing changed: the yield payload has the unknown field "to_locaton_id" (did you mean "to_location_id"?)"#),
                "\(refused.output)")
        let shown = try show()
        #expect(shown.contains("#\(id) dead yield") && shown.contains(#""to_location_id":10"#), "\(shown)")
        #expect(!shown.contains("payload-edited"), "a refused edit is not in the audit trail: \(shown)")

        // A changed key would let the target book the move twice: refused too.
        let rekeyed = try replay(original.replacingOccurrences(of: key, with: "yield:other"))
        #expect(rekeyed.status == 1 && rekeyed.output.contains(#"the yield payload's "key""#), "\(rekeyed.output)")

        // The fix as meant: queued again with its key, and the edit audited.
        let fixed = try replay(original.replacingOccurrences(of: #""to_location_id":10"#, with: #""to_location_id":4"#))
        #expect(fixed.status == 0 && fixed.output.contains("posting #\(id) queued again (yield -> tryton) with the edited payload"), "\(fixed.output)")
        let after = try show()
        #expect(after.contains("#\(id) pending yield") && after.contains(#""to_location_id":4"#) && after.contains("payload-edited"), "\(after)")
    }
}
