import CentralSync
import Foundation
import Testing

/// Confirmation files a legacy MES drops (`ConfirmationFile`): CSV with a header, quotes and CRLF,
/// or JSON; each record checked alone and numbered by the line it starts on, so one bad line is
/// refused with its number and the others stand.
@Suite struct ConfirmationFileTests {
    func records(_ text: String, _ format: ConfirmationFile.Format = .csv) throws -> [ConfirmationFile.Record] {
        try ConfirmationFile.records(Data(text.utf8), format: format)
    }

    @Test func csvRecordsAreCheckedOneByOneWithTheirLines() throws {
        let r = try records("""
            id,order,operation,yield,scrap,scrap_reason,at\r
            C-1,MO/1,Press,40,,,2026-12-07T10:00:00Z\r
            C-2,MO/1,"Press",0,2,"burr, left edge",2026-12-07T10:05:00Z\r
            C-3,MO/1,Press,-3,,,2026-12-07T10:10:00Z\r
            C-4,MO/1,Press,forty,,,2026-12-07T10:10:00Z\r
            C-5,MO/1,Press\r
            \r
            """)
        #expect(r.map(\.line) == [2, 3, 4, 5, 6])
        let c1 = try r[0].result.get()
        #expect(c1.id == "C-1" && c1.yield == 40 && c1.scrap == 0)
        #expect(try r[1].result.get().scrapReason == "burr, left edge", "a quoted comma stays in its field")
        #expect(throws: ConfirmationRefusal.invalid(field: "yield", reason: "must be 0 or more (got -3.0)")) { try r[2].result.get() }
        #expect(throws: ConfirmationRefusal.invalid(field: "yield", reason: "must be a number")) { try r[3].result.get() }
        #expect(throws: ConfirmationRefusal.malformed("3 fields where the header names 7")) { try r[4].result.get() }
    }

    @Test func aQuotedFieldMaySpanLinesAndTheNextRecordKeepsItsLine() throws {
        let r = try records("id,order,operation,yield,by,at\nC-1,MO/1,Press,1,\"night\nshift\",2026-12-07T10:00:00Z\nC-2,MO/1,Press,1,x,2026-12-07T10:00:00Z\n")
        #expect(r.map(\.line) == [2, 4])
        #expect(throws: ConfirmationRefusal.self) { try r[0].result.get() }
        #expect(try r[1].result.get().id == "C-2")
        #expect(throws: ConfirmationFile.Unreadable.self) { try records("id,order\n\"C-1,MO/1\n") }
        #expect(throws: ConfirmationFile.Unreadable.self) { try records("") }
    }

    @Test func jsonIsOneObjectOrAnArray() throws {
        let one = try records(#"{"id": "C-1", "order": "MO/1", "operation": "Press", "yield": 1, "at": "2026-12-07T10:00:00Z"}"#, .json)
        #expect(one.count == 1 && (try? one[0].result.get())?.id == "C-1")
        let many = try records(#"[{"id": "C-1", "order": "MO/1", "operation": "Press", "yield": 1, "at": "2026-12-07T10:00:00Z"}, 7, {"id": "C-3"}]"#, .json)
        #expect(many.map(\.line) == [1, 2, 3])
        #expect(throws: ConfirmationRefusal.malformed("not a JSON object")) { try many[1].result.get() }
        #expect(throws: ConfirmationRefusal.self) { try many[2].result.get() }
        #expect(throws: ConfirmationFile.Unreadable.self) { try records("{", .json) }
        #expect(throws: ConfirmationFile.Unreadable.self) { try ConfirmationFile.records(Data([0xff, 0xfe, 0x00]), format: .csv) }
    }
}
