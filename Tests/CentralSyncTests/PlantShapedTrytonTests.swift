@testable import CentralSync
import Foundation
import MillwrightCore
import Reconciliation
import Testing
import TestSupport

/// Against a real Tryton set up the way plants usually are: presses nested under their lines
/// (Line 1 > Press 1), productions entered with a BOM (so Tryton plans an output and inputs), the
/// mapping written with the names a user sees. What is checked is the ERP's own documents once
/// the production is done, the figures a planner and the stock valuation read.
@Suite(.serialized) struct PlantShapedTrytonTests {
    static let storage: Int64 = 3

    static func perMinute(_ h: SyncHarness, equipment: String, from start: Timestamp, minutes: Int, each: Double = 1,
                          signal: String = "parts") -> [EventEnvelope] {
        (0..<minutes).map { m in
            h.count(each, signal: signal, from: start + .seconds(Int64(m) * 60), to: start + .seconds(Int64(m + 1) * 60), equipment: equipment)
        }
    }

    static func quantity(_ moves: [[String: Any]], _ keep: ([String: Any]) -> Bool) -> Double {
        moves.filter(keep).map { ($0["quantity"] as? NSNumber)?.doubleValue ?? 0 }.reduce(0, +)
    }

    /// The real `millwright-central` on a configuration file, stdout and stderr together.
    static func central(_ arguments: String, config: String) throws -> (status: Int32, output: String) {
        try Executables.run("sh", ["-c", "'\(CentralProcess.binary)' \(arguments) '\(config)' 2>&1"])
    }

    static func isDone(_ m: [String: Any]) -> Bool { (m["state"] as? String) == "done" }
    static func toStorage(_ m: [String: Any]) -> Bool { (m["to_location"] as? NSNumber)?.int64Value == storage }

    /// Issue 9, findings 1 and 2: a production entered on Line 2 (its work lands on Press 2), running
    /// in Tryton with no MES: the running work assigns the order to the press mapped by its plain
    /// name, and when the order is done its output is the counted yield, not the plan plus the count.
    @Test func aDoneProductionOnANestedPressOutputsWhatWasCounted() async throws {
        let h = try await SyncHarness(equipment: #"press-2: { work_center: "Press 2", yield: parts, scrap: rejects }"#)
        let po = try h.tryton.createProduction(reference: "PO-NEST", quantity: 500, workCenter: "Line 2")
        let before = try h.tryton.moves(po.id)
        #expect(Self.quantity(before.outputs) { Self.toStorage($0) && ($0["millwright_key"] as? String) == nil } == 500,
                "Tryton planned the BOM's output")
        let t0 = HardCaseTests.bucket(-120)
        // The ERP does not say when a work started: the import that first sees it running starts it.
        try await h.runtime.importer!.importOnce(now: t0)
        let order = try #require(try await h.store.orders()[po.id])
        #expect(order.works.map(\.workCenter) == ["Line 2 / Press 2"])
        #expect(order.works.map(\.equipment) == [["press-2"]], "the work on Press 2 belongs to the equipment mapped to \"Press 2\"")
        #expect(try await h.store.assignmentChanges().contains { $0.equipment == "press-2" && $0.orderRef == order.number && $0.action == .start })

        // 120 good parts in three 15-minute buckets (10 + 60 + 50) and 6 rejects.
        var events = Self.perMinute(h, equipment: "press-2", from: t0, minutes: 10)
        events += Self.perMinute(h, equipment: "press-2", from: t0 + .seconds(900), minutes: 15, each: 4)
        events += Self.perMinute(h, equipment: "press-2", from: t0 + .seconds(1800), minutes: 10, each: 5)
        events += Self.perMinute(h, equipment: "press-2", from: t0 + .seconds(1800), minutes: 6, signal: "rejects")
        try await h.send(events)
        let outcome = try await h.reconcile()
        #expect(outcome.unattributed.isEmpty)
        try await h.deliver()
        #expect(try await h.store.postings().allSatisfy { $0.status == .acked })
        // Keys name the routing operation's work, not "-".
        #expect(try await h.store.postings().allSatisfy { $0.line.contains("/\(order.works[0].id)/") })

        try h.tryton.completeProduction(po.id)
        let after = try h.tryton.moves(po.id)
        #expect(after.state == "done")
        #expect(Self.quantity(after.outputs) { Self.isDone($0) && Self.toStorage($0) } == 120, "stock receives the counted yield: \(after.outputs)")
        #expect(Self.quantity(after.outputs) { Self.isDone($0) && !Self.toStorage($0) } == 6, "scrap goes to the waste location")
        #expect(after.outputs.filter { ($0["millwright_key"] as? String) == nil }.allSatisfy { ($0["state"] as? String) == "cancelled" },
                "the planned output is cancelled, not booked: \(after.outputs)")
        let ledger = try await h.ledger(po.id)
        #expect(ledger.allSatisfy(\.isBalanced) && ledger.map(\.derived).reduce(0, +) == 126)
    }

    /// Inputs too: less steel consumed than the BOM planned comes back to stock when the order has
    /// left the press, so Tryton's net consumption equals what was measured.
    @Test func unusedMaterialReturnsToStockWhenTheOrderLeavesThePress() async throws {
        let h = try await SyncHarness(equipment: #"press-1: { work_center: "Line 1 / Press 1", yield: parts, consumption: { steel-feed: STEEL } }"#)
        let po = try h.tryton.createProduction(reference: "PO-RET", quantity: 100, workCenter: "Line 1 / Press 1")
        try await h.importERP()
        #expect(try h.tryton.moves(po.id).inputs.filter(Self.isDone).count == 1, "Tryton books the planned inputs when the order runs")
        let t0 = HardCaseTests.bucket(-120)
        try await h.mes("PO-RET", .start, at: t0)
        try await h.send(Self.perMinute(h, equipment: "press-1", from: t0, minutes: 60) + Self.perMinute(h, equipment: "press-1", from: t0, minutes: 60, signal: "steel-feed"))
        // While the order runs, below plan is not a finding yet.
        try await h.reconcile()
        try await h.deliver()
        #expect(try await h.store.postings().filter { $0.kind == .consumption }.isEmpty)

        try await h.mes("PO-RET", .stop, at: t0 + .seconds(3600))
        try await h.reconcile()
        try await h.deliver()
        let ret = try await h.store.postings().filter { $0.kind == .consumption }
        #expect(ret.count == 1 && ret.first?.quantity == -40 && ret.first?.status == .acked, "\(ret)")

        try h.tryton.completeProduction(po.id)
        let after = try h.tryton.moves(po.id)
        let consumed = Self.quantity(after.inputs) { Self.isDone($0) && ($0["product"] as? String) == "STEEL" }
        let returned = Self.quantity(after.outputs) { Self.isDone($0) && ($0["product"] as? String) == "STEEL" && Self.toStorage($0) }
        #expect(consumed == 100 && returned == 40, "net consumption in Tryton is what was measured: \(after)")
        #expect(Self.quantity(after.outputs) { Self.isDone($0) && ($0["product"] as? String) == "WIDGET" } == 60)
        let ledger = try #require(try await h.ledger(po.id).first { $0.kind == "consumption" })
        #expect(ledger.derived == 60 && ledger.posted == 60 && ledger.isBalanced)
    }

    /// A mapping that names what Tryton does not have is refused, naming every unknown reference.
    @Test func anUnknownWorkCenterOrProductIsRefusedWithTheNamesAndAHint() async throws {
        let h = try await SyncHarness(equipment: """
            press-1: { work_center: "Press 9", yield: parts, consumption: { steel-feed: STEEL-X } }
            press-2: { work_center: "Line 2 / Press 2", yield: parts }
            """)
        await #expect {
            try await h.importERP()
        } throws: { error in
            let text = "\(error)"
            return error is MasterDataError && text.contains(#"equipment.press-1.work_center: "Press 9" is not a work center in the ERP (did you mean"#)
                && text.contains(#""STEEL-X" is not a product code"#) && !text.contains("press-2.work_center")
        }
    }
    /// `check-config --erp` resolves the mapping the way the central does at start-up.
    @Test func checkConfigWithTheERPNamesWhatEachEquipmentResolvesTo() throws {
        let tryton = try TrytonServer()
        let dir = try TemporaryDirectory.make(prefix: "check-erp")
        defer { try? FileManager.default.removeItem(at: dir) }
        func check(_ equipment: String) throws -> (status: Int32, output: String) {
            let path = dir.appendingPathComponent("central.yaml").path
            try SyncHarness.config(trytonURL: tryton.url, brokerPort: 1, equipment: equipment).write(toFile: path, atomically: true, encoding: .utf8)
            return try Self.central("check-config --erp", config: path)
        }
        let good = try check(#"press-2: { work_center: "Line 2", yield: parts }"#)
        #expect(good.status == 0 && good.output.contains("press-2 -> Line 2 (work center id") && good.output.contains("and 1 below it"), "\(good.output)")
        let bad = try check(#"press-2: { work_center: "Press 9", yield: parts }"#)
        #expect(bad.status == 1 && bad.output.contains(#""Press 9" is not a work center in the ERP"#), "\(bad.output)")
    }

    /// Issue 9, findings 3 and 4: parts counted while no order runs on the press are visible (review,
    /// status, ledger, master-data, the log) and an operator can assign them; then they are posted.
    @Test func countsNoOrderCoversAreShownAndAnOperatorCanAssignThem() async throws {
        let equipment = #"press-2: { work_center: "Press 2", yield: parts }"#
        let h = try await SyncHarness(equipment: equipment)
        // Released but not running in Tryton: no assignment from the ERP, and no MES.
        let po = try h.tryton.createProduction(reference: "PO-LOOSE", quantity: 50, workCenter: "Line 2", state: "waiting")
        try await h.importERP()
        let t0 = HardCaseTests.bucket(-120)
        try await h.send(Self.perMinute(h, equipment: "press-2", from: t0, minutes: 20))
        let outcome = try await h.reconcile()
        #expect(outcome.unattributed.map(\.quantity) == [20] && outcome.unattributed.first?.from == t0)
        #expect(try await h.store.unassigned().map(\.span).map { "\($0.equipment) \($0.kind.rawValue) \($0.quantity)" } == ["press-2 yield 20.0"])

        // The operator's view, through the real binary on the same store.
        let config = h.dir.appendingPathComponent("central.yaml").path
        try (SyncHarness.config(trytonURL: h.tryton.url, brokerPort: 1, equipment: equipment) + "\n\(h.storeSection)\n")
            .write(toFile: config, atomically: true, encoding: .utf8)
        func cli(_ args: String) throws -> (status: Int32, output: String) { try Self.central("\(args) -c", config: config) }
        let review = try cli("review")
        #expect(review.output.contains("unassigned production: 1 item(s)") && review.output.contains("press-2 yield 20 counted \(t0.rfc3339)"), "\(review.output)")
        #expect(try cli("status").output.contains("press-2: 20 yield in 1 span(s)"))
        #expect(try cli("ledger").output.contains("unassigned press-2 yield: derived 20, no order"))
        let master = try cli("master-data").output
        #expect(master.contains("PO-LOOSE") && master.contains("on Line 2 / Press 2") && master.contains("-> equipment press-2"), "\(master)")

        let from = t0.rfc3339, to = (t0 + .seconds(1200)).rfc3339
        let assigned = try cli("assign --equipment press-2 --order PO-LOOSE --from \(from) --to \(to) --note ticket-7")
        #expect(assigned.status == 0, "\(assigned.output)")
        let again = try cli("assign --equipment press-2 --order PO-LOOSE --from \(from) --to \(to)")
        #expect(again.status != 0 && again.output.contains("already has an order"), "\(again.output)")
        // Recorded: the OS user who ran it (not a name the caller types), with the note beside it.
        let user = getpwuid(geteuid()).map { String(cString: $0.pointee.pw_name) } ?? "?"
        #expect(try cli("master-data").output.contains("from operator (\(user) (uid \(geteuid())); note: ticket-7)"))

        try await h.reconcile()
        try await h.deliver()
        #expect(try await h.store.unassigned().isEmpty)
        #expect(try h.trytonTotals(po.id).yield == 20)
        #expect(try await h.ledger(po.id).allSatisfy(\.isBalanced))
    }
}
