import CentralSync
import ERPConnectors
import Foundation
import MillwrightCore
import Testing
import TestSupport

/// The MES -> ERP leg of the round trip, against a real Tryton and a real mosquitto: the MES's
/// confirmations (over MQTT, published by mosquitto_pub) become an output move, a scrap move and a
/// done work cycle on the order in Tryton, exactly once through a resend and through an ERP answer
/// lost after Tryton committed; confirmations naming no imported order or operation, or carrying a
/// negative figure, are refused with their reason and book nothing; the machines' counts for the
/// same order are not posted beside the MES's figures, and once the order ended they are compared
/// with them: a difference beyond `mes.tolerance` is a discrepancy with both figures in the ledger
/// and the planning snapshot.
@Suite(.serialized) struct MESConfirmationTests {
    /// Publishes one confirmation as the MES would (mosquitto_pub), off the cooperative pool.
    func publish(_ port: Int, _ json: String) async throws {
        let r = try await offPool { try Executables.run("mosquitto_pub", ["-p", "\(port)", "-q", "1", "-t", "mes/confirmations/line-1", "-m", json]) }
        #expect(r.status == 0, "\(r.output)")
    }

    @Test func confirmationsBecomeMovesAndWorkCyclesExactlyOnce() async throws {
        let broker = try MosquittoBroker()
        try broker.start()
        defer { broker.stop() }
        let tryton = try TrytonServer()
        // The first cycle's `do` is applied by Tryton but its answer held back 8 s (the connector waits 5 s).
        let (proxy, proxyPort) = try tryton.proxy(faults: #"{"delay_after_upstream_s": 8.0, "match": "model.production.work.cycle.do", "times": 1}"#)
        defer { proxy.terminate(grace: 1) }
        let h = try await SyncHarness(tryton: tryton, trytonURL: "http://127.0.0.1:\(proxyPort)", brokerPort: broker.port,
                                      extra: #"mes: { topic: "mes/orders/+", confirmations: "mes/confirmations/+" }"#, trytonTimeout: "5s")
        let listener = try #require(h.runtime.confirmations)
        let intake = Task { try await listener.run() }
        defer { intake.cancel() }
        #expect(await eventuallyAsync(timeout: 120) { broker.subscriptions() > 0 }, "the confirmation listener subscribed")

        let po = try await offPool { try tryton.createProduction(reference: "PO-CONF", quantity: 100) }
        try await h.importERP()

        // Yield, scrap and time for the press operation.
        let at = Timestamp.minutes(-5)
        try await publish(broker.port, #"{"id": "C-1", "order": "\#(po.number)", "operation": "Press", "yield": 40, "scrap": 2, "scrap_reason": "burr", "machine_seconds": 1500, "labor_seconds": 1800, "at": "\#(at.rfc3339)", "by": "mes-line-1"}"#)
        #expect(await eventuallyAsync(timeout: 60) { listener.stats.booked == 1 }, "\(listener.stats)")
        // Sent again (the MES did not hear our acknowledgement): nothing more.
        try await publish(broker.port, #"{"id": "C-1", "order": "\#(po.number)", "operation": "Press", "yield": 40, "scrap": 2, "scrap_reason": "burr", "machine_seconds": 1500, "labor_seconds": 1800, "at": "\#(at.rfc3339)", "by": "mes-line-1"}"#)
        // A second confirmation by the order's reference: yield only.
        try await publish(broker.port, #"{"id": "C-2", "order": "PO-CONF", "operation": "Press", "yield": 60, "at": "\#(at.rfc3339)"}"#)
        #expect(await eventuallyAsync(timeout: 60) { listener.stats.booked == 2 && listener.stats.duplicates == 1 }, "\(listener.stats)")

        // Refused, each with its reason; nothing booked for them.
        let refusals = [
            #"{"id": "C-3", "order": "MO-NOPE", "operation": "Press", "yield": 5, "at": "\#(at.rfc3339)"}"#,
            #"{"id": "C-4", "order": "\#(po.number)", "operation": "Press", "yield": -3, "at": "\#(at.rfc3339)"}"#,
            #"{"id": "C-5", "order": "\#(po.number)", "operation": "Paint", "yield": 5, "at": "\#(at.rfc3339)"}"#,
            #"{"id": "C-6", "order": "\#(po.number)", "operation": "Press", "scrap": 5, "at": "\#(at.rfc3339)"}"#,
            #"{"id": "C-7", "order": "\#(po.number)", "operation": "Press", "yeild": 5, "at": "\#(at.rfc3339)"}"#,
            #"{"id": "C-1", "order": "\#(po.number)", "operation": "Press", "yield": 41, "scrap": 2, "scrap_reason": "burr", "machine_seconds": 1500, "at": "\#(at.rfc3339)"}"#,
            #"{"id": "C-1", "order": "\#(po.number)", "operation": "Press", "yield": 40, "scrap": 2, "scrap_reason": "burr", "machine_seconds": 1500, "labor_seconds": 1700, "at": "\#(at.rfc3339)"}"#,
            "not json",
        ]
        for r in refusals { try await publish(broker.port, r) }
        let expected = ["unknown_order": 1, "invalid": 3, "unknown_operation": 1, "conflict": 2, "malformed": 1]
        #expect(await eventuallyAsync(timeout: 60) { listener.stats.refused == expected }, "\(listener.stats)")
        let postings = try await h.store.postings()
        #expect(Set(postings.map(\.idempotencyKey)) == ["yield:mes:C-1", "scrap:mes:C-1", "work_cycle:mes:C-1", "yield:mes:C-2"])

        // The machines counted too: derived, but not posted beside the MES's figures.
        try await h.mes("PO-CONF", .start, at: .minutes(-90))
        try await h.send([h.count(93, from: .minutes(-80), to: .minutes(-70))])
        try await h.reconcile(now: .now() + .seconds(3600))
        #expect(try await h.store.postings().count == 4, "no posting from the machine counts")
        // The MES confirmed 100, the machines counted 93: while the order runs, that is work not
        // confirmed yet; once it ran on no equipment any more, a discrepancy beyond 5% with both figures.
        let running = try #require(try await h.ledger(po.id).first { $0.kind == "yield" })
        #expect(running.derived == 93 && running.confirmed == 100 && running.open == 0 && running.discrepancies.isEmpty, "\(running)")
        try await h.mes("PO-CONF", .stop, at: .minutes(-65))
        let ended = try #require(try await h.ledger(po.id).first { $0.kind == "yield" })
        #expect(ended.discrepancies.map { [$0.confirmed, $0.counted, $0.tolerance] } == [[100, 93, 0.05]], "\(ended)")
        let workID = (try await offPool { try tryton.production(po.id) }["works"] as? [[String: Any]])?.first.flatMap { ($0["id"] as? NSNumber)?.int64Value }
        #expect(ended.discrepancies.first?.workID == workID)
        #expect(ended.discrepancies.first?.description.contains("the MES confirmed 100, the machines counted 93 (-7.0%)") == true)
        let scrap = try #require(try await h.ledger(po.id).first { $0.kind == "scrap" })
        #expect(scrap.confirmed == 2 && scrap.discrepancies.map(\.counted) == [0], "scrap confirmed, none counted: beyond any tolerance")
        let planning = try #require(try await PlanningSnapshotService(config: h.runtime.pass.config, pass: h.runtime.pass, connector: nil,
                                                                      keeper: nil, logger: .init(label: "t")).snapshot().orders.first { $0.orderID == po.id })
        #expect(planning.producedConfirmed == 100 && planning.producedDerived == 93 && planning.discrepancies?.count == 2)
        let overview = ConfirmationOverview.make(try await h.store.postings(), ledger: try await h.runtime.pass.ledger())
        #expect(overview.confirmations == 2 && overview.postings == ["pending": 4] && overview.successRate == nil && overview.latency == nil)
        #expect(overview.compared == 2 && overview.discrepancies == 2, "yield and scrap of the one operation: both off")

        try await h.deliver()
        let all = try await h.store.postings()
        #expect(all.allSatisfy { $0.status == .acked }, "\(all.map { "\($0.idempotencyKey): \($0.status) \($0.lastError ?? "")" })")
        let cycle = try #require(all.first { $0.kind == .workCycle })
        #expect(cycle.attempts >= 2, "the first attempt timed out after Tryton committed")
        #expect(try await h.store.audit(postingID: cycle.id).contains { $0.action == .acked && $0.detail.contains("found by reference") })

        // In Tryton: one output move per yield confirmation, one scrap move, one done cycle of 1500 s.
        let production = try await offPool { try tryton.production(po.id) }
        let outputs = production["outputs"] as? [[String: Any]] ?? []
        func keyed(_ key: String) -> [[String: Any]] { outputs.filter { $0["millwright_key"] as? String == key } }
        #expect(keyed("yield:mes:C-1").map { ($0["quantity"] as? NSNumber)?.doubleValue } == [40])
        #expect(keyed("yield:mes:C-2").map { ($0["quantity"] as? NSNumber)?.doubleValue } == [60])
        #expect(keyed("scrap:mes:C-1").map { ($0["quantity"] as? NSNumber)?.doubleValue } == [2])
        let works = production["works"] as? [[String: Any]] ?? []
        let cycles = works.flatMap { $0["cycles"] as? [[String: Any]] ?? [] }
        #expect(cycles.count == 1, "\(cycles)")
        #expect(cycles.first?["state"] as? String == "done")
        #expect((cycles.first?["duration"] as? NSNumber)?.doubleValue == 1500)
        let settled = ConfirmationOverview.make(all, ledger: try await h.runtime.pass.ledger())
        #expect(settled.successRate == 1 && settled.latency?.count == 4 && settled.postings == ["acked": 4])

        // The operator's view, through the real binary on the same store.
        let config = h.dir.appendingPathComponent("central.yaml").path
        try (SyncHarness.config(trytonURL: tryton.url, brokerPort: broker.port, extra: #"mes: { confirmations: "mes/confirmations/+" }"#)
             + "\n\(h.storeSection)\n").write(toFile: config, atomically: true, encoding: .utf8)
        let ledger = try await offPool { try Executables.run("sh", ["-c", "'\(CentralProcess.binary)' ledger -c '\(config)' 2>&1"]) }.output
        #expect(ledger.contains("yield: derived 93, posted 100, in flight 0, in review 0, open 0, confirmed by the MES 100"), "\(ledger)")
        #expect(ledger.contains("discrepancy: order \(po.id) work"), "\(ledger)")
        let status = try await offPool { try Executables.run("sh", ["-c", "'\(CentralProcess.binary)' status -c '\(config)' 2>&1"]) }.output
        #expect(status.contains("confirmations: 2 booked, postings 0 pending, 0 sent, 4 acked, 0 dead, 0 confirmed; 100.0% of settled delivered"), "\(status)")
        #expect(status.contains("2 operation(s) of ended orders compared with the machines, 2 discrepancy(ies) (100.0%)"), "\(status)")

        // Done in Tryton: the machines' counts of a closed order are no review items (the MES is the
        // source of record), and a confirmation delivered again is still a duplicate, not refused.
        try await offPool { try tryton.completeProduction(po.id) }
        try await h.importERP()
        try await h.reconcile(now: .now() + .seconds(3600))
        #expect(try await h.store.reviewItems().isEmpty)
        let duplicates = listener.stats.duplicates
        try await publish(broker.port, #"{"id": "C-2", "order": "PO-CONF", "operation": "Press", "yield": 60, "at": "\#(at.rfc3339)"}"#)
        #expect(await eventuallyAsync(timeout: 60) { listener.stats.duplicates == duplicates + 1 }, "\(listener.stats)")
    }

    /// Issue 25 item 6: two input lots into one order, two output lots. The trace from each output
    /// lot reaches both input lots, the machine and its events and alarm during the run (not those
    /// after it); from an input lot, both output lots; in Tryton the lots are on the moves and its
    /// own lot trace leads from each output lot to both heats.
    @Test func lotsTraceFromEachOutputLotToItsInputsMachinesAndEventsAndBack() async throws {
        let broker = try MosquittoBroker()
        try broker.start()
        defer { broker.stop() }
        let tryton = try TrytonServer()
        let mes = #"mes: { confirmations: "mes/confirmations/+", inspections: "mes/inspections/+" }"#
        let h = try await SyncHarness(tryton: tryton, brokerPort: broker.port, extra: mes)
        let listener = try #require(h.runtime.confirmations)
        let intake = Task { try await listener.run() }
        defer { intake.cancel() }
        let inspections = try #require(h.runtime.inspections)
        let qualityIntake = Task { try await inspections.run() }
        defer { qualityIntake.cancel() }
        #expect(await eventuallyAsync(timeout: 120) { broker.subscriptions() >= 2 }, "the confirmation and inspection listeners subscribed")
        let po = try await offPool { try tryton.createProduction(reference: "PO-LOTS", quantity: 100) }
        try await h.importERP()
        // The heats were received into storage under their lots.
        try await offPool { try tryton.receiveLot("HEAT-1", quantity: 60) }
        try await offPool { try tryton.receiveLot("HEAT-2", quantity: 60) }

        // The press ran the order from -90 to -65 min: two counts and one alarm; a count after the run.
        try await h.mes("PO-LOTS", .start, at: .minutes(-90))
        let alarm = h.event(.limitRaised, signal: "thickness", at: .minutes(-75), values: ["severity": .text("high"), "value": .number(2.9)])
        try await h.send([h.count(50, from: .minutes(-85), to: .minutes(-80)), alarm, h.count(50, from: .minutes(-70), to: .minutes(-66))])
        try await h.mes("PO-LOTS", .stop, at: .minutes(-65))
        try await h.send([h.count(7, from: .minutes(-60), to: .minutes(-55))])

        let at = Timestamp.minutes(-64).rfc3339
        let one = #"{"id": "L-1", "order": "\#(po.number)", "operation": "Press", "yield": 50, "lot": "OUT-1", "at": "\#(at)", "consumed": [{"material": "STEEL", "lot": "HEAT-1", "quantity": 30}, {"material": "STEEL", "lot": "HEAT-2", "quantity": 20}]}"#
        try await publish(broker.port, one)
        try await publish(broker.port, #"{"id": "L-2", "order": "\#(po.number)", "operation": "Press", "yield": 50, "lot": "OUT-2", "at": "\#(at)", "consumed": [{"material": "STEEL", "lot": "HEAT-1", "quantity": 20}, {"material": "STEEL", "lot": "HEAT-2", "quantity": 30}]}"#)
        // Master data comes from the ERP: a material the order does not consume is refused, nothing booked.
        try await publish(broker.port, #"{"id": "L-3", "order": "\#(po.number)", "operation": "Press", "yield": 1, "lot": "OUT-3", "at": "\#(at)", "consumed": [{"material": "COPPER", "lot": "C-9", "quantity": 1}]}"#)
        try await publish(broker.port, #"{"id": "L-4", "order": "\#(po.number)", "operation": "Press", "yield": 1, "at": "\#(at)", "consumed": [{"material": "STEEL", "lot": "HEAT-1", "quantity": -1}]}"#)
        #expect(await eventuallyAsync(timeout: 60) { listener.stats.booked == 2 && listener.stats.refused == ["unknown_material": 1, "invalid": 1] },
                "\(listener.stats)")
        #expect(Set(try await h.store.postings().map(\.idempotencyKey)) == [
            "yield:mes:L-1", "input_lot:mes:L-1#1", "input_lot:mes:L-1#2", "yield:mes:L-2", "input_lot:mes:L-2#1", "input_lot:mes:L-2#2"])
        try await h.deliver()
        let all = try await h.store.postings()
        #expect(all.allSatisfy { $0.status == .acked }, "\(all.map { "\($0.idempotencyKey): \($0.status) \($0.lastError ?? "")" })")
        // A resend books nothing; the same id with another lot is a conflict.
        try await publish(broker.port, one)
        try await publish(broker.port, one.replacingOccurrences(of: "HEAT-2", with: "HEAT-3"))
        #expect(await eventuallyAsync(timeout: 60) { listener.stats.duplicates == 1 && listener.stats.refused["conflict"] == 1 }, "\(listener.stats)")
        #expect(try await h.store.postings().count == 6)

        // In Tryton: the lots on the moves; each heat's quantity re-booked from its lot, consumption unchanged.
        try await offPool { try tryton.completeProduction(po.id) }
        let production = try await offPool { try tryton.production(po.id) }
        let outputs = production["outputs"] as? [[String: Any]] ?? []
        let inputs = production["inputs"] as? [[String: Any]] ?? []
        func q(_ m: [String: Any]) -> Double { (m["quantity"] as? NSNumber)?.doubleValue ?? 0 }
        let lotted = inputs.filter { $0["lot"] is String }.map { "\($0["lot"]!) \(q($0)) \($0["state"] ?? "")" }.sorted()
        #expect(lotted == ["HEAT-1 20.0 done", "HEAT-1 30.0 done", "HEAT-2 20.0 done", "HEAT-2 30.0 done"], "\(inputs)")
        let unlotted = outputs.filter { ($0["millwright_key"] as? String)?.hasSuffix("/unlotted") == true }
        #expect(unlotted.count == 4 && unlotted.map(q).reduce(0, +) == 100 && unlotted.allSatisfy { $0["product"] as? String == "STEEL" })
        let outputLots = outputs.filter { $0["lot"] is String }
        #expect(outputLots.map { "\($0["lot"]!) \(q($0))" }.sorted() == ["OUT-1 50.0", "OUT-2 50.0"], "\(outputs)")
        for o in outputLots {
            #expect(o["downward_lots"] as? [String] == ["HEAT-1", "HEAT-2"], "Tryton's own trace of \(o["lot"]!): \(o)")
        }

        // Millwright's genealogy, through the real binary on the same store.
        let config = h.dir.appendingPathComponent("central.yaml").path
        try (SyncHarness.config(trytonURL: tryton.url, brokerPort: broker.port, extra: mes)
             + "\n\(h.storeSection)\n").write(toFile: config, atomically: true, encoding: .utf8)
        func trace(_ lot: String) async throws -> (status: Int32, json: [String: Any]) {
            let r = try await offPool { try Executables.run(CentralProcess.binary, ["trace", "-c", config, "--lot", lot, "--json"]) }
            let json = (try? JSONSerialization.jsonObject(with: Data(r.output.utf8))) as? [String: Any] ?? [:]
            return (r.status, json)
        }
        func lots(_ p: [String: Any], _ side: String) -> Set<String> { Set((p[side] as? [[String: Any]] ?? []).compactMap { $0["lot"] as? String }) }
        for out in ["OUT-1", "OUT-2"] {
            let (status, json) = try await trace(out)
            let made = json["made_by"] as? [[String: Any]] ?? []
            #expect(status == 0 && made.count == 1, "\(json)")
            let p = made.first ?? [:]
            #expect(p["order"] as? String == po.number)
            #expect(lots(p, "inputs") == ["HEAT-1", "HEAT-2"], "\(p)")
            #expect((p["machines"] as? [[String: Any]])?.compactMap { $0["equipment"] as? String } == ["press-1"], "\(p)")
            #expect(p["event_count"] as? Int == 3, "two counts and the alarm during the run, not the count after it: \(p)")
            #expect((p["alarms"] as? [[String: Any]])?.compactMap { $0["signal"] as? String } == ["thickness"], "\(p)")
        }
        for heat in ["HEAT-1", "HEAT-2"] {
            let (status, json) = try await trace(heat)
            let used = json["used_by"] as? [[String: Any]] ?? []
            #expect(status == 0 && used.count == 1 && lots(used.first ?? [:], "outputs") == ["OUT-1", "OUT-2"], "\(json)")
        }
        let text = try await offPool { try Executables.run(CentralProcess.binary, ["trace", "-c", config, "--lot", "OUT-1"]) }
        #expect(text.output.contains("lot OUT-1 <- made by order \(po.number)") && text.output.contains("HEAT-2 (STEEL 20"), "\(text.output)")
        #expect(try await trace("NOPE").status == 3, "a lot no confirmation named")

        // Issue 25 item 7: a failing inspection holds the lot in Tryton (its stock moves out of the
        // warehouse to the hold location), a passing re-inspection releases it; a late older result
        // changes nothing; the trace shows every result.
        func inspect(_ json: String) async throws {
            let r = try await offPool { try Executables.run("mosquitto_pub", ["-p", "\(broker.port)", "-q", "1", "-t", "mes/inspections/lab-1", "-m", json]) }
            #expect(r.status == 0, "\(r.output)")
        }
        func stock(_ lot: String) async throws -> String {
            let l = try await offPool { try tryton.lot(lot, product: "WIDGET") }
            return "\(l["quality"] as? String ?? "-") STO \((l["STO"] as? NSNumber)?.doubleValue ?? -1) QUA \((l["QUA"] as? NSNumber)?.doubleValue ?? -1)"
        }
        #expect(try await stock("OUT-1") == "- STO 50.0 QUA 0.0")
        try await inspect(#"{"id": "QI-1", "lot": "OUT-1", "product": "WIDGET", "result": "fail", "at": "\#(Timestamp.minutes(-30).rfc3339)", "by": "lab-1", "note": "hardness 41 HRC"}"#)
        try await inspect(#"{"id": "QI-9", "lot": "OUT-9", "product": "WIDGET", "result": "fail", "at": "\#(Timestamp.minutes(-30).rfc3339)"}"#)
        try await inspect(#"{"id": "QI-8", "lot": "OUT-1", "product": "WIDGET", "result": "maybe", "at": "\#(Timestamp.minutes(-30).rfc3339)"}"#)
        #expect(await eventuallyAsync(timeout: 60) { inspections.stats.booked == 1 && inspections.stats.refused == ["unknown_lot": 1, "invalid": 1] },
                "\(inspections.stats)")
        try await h.deliver()
        let hold = try await h.store.posting(key: "lot_quality:insp:QI-1")
        #expect(try await stock("OUT-1") == "held STO 0.0 QUA 50.0", "held: nothing of it left to assign (\(hold?.status.rawValue ?? "-"): \(hold?.lastError ?? ""))")
        // The same result delivered again (an answer lost after Tryton committed): nothing moves twice.
        let again = await TrytonConnector(client: try #require(h.runtime.tryton), holdLocation: "QUA", logger: .init(label: "t")).deliver(try #require(hold))
        guard case .found(let ref, let note) = again else { Issue.record("\(again)"); return }
        #expect(ref.hasPrefix("stock.lot:") && note.contains("applied before"), "\(note)")
        #expect(try await stock("OUT-1") == "held STO 0.0 QUA 50.0")
        func status() async throws -> String {
            try await offPool { try Executables.run("sh", ["-c", "'\(CentralProcess.binary)' status -c '\(config)' 2>&1"]) }.output
        }
        let whileHeld = try await status()
        #expect(whileHeld.contains("lots held by inspections: 1") && whileHeld.contains("held: OUT-1 (WIDGET) by inspection QI-1"), "\(whileHeld)")
        #expect(try await stock("OUT-2") == "- STO 50.0 QUA 0.0", "the other lot is untouched")
        try await inspect(#"{"id": "QI-2", "lot": "OUT-1", "product": "WIDGET", "result": "pass", "at": "\#(Timestamp.minutes(-20).rfc3339)", "by": "lab-1"}"#)
        #expect(await eventuallyAsync(timeout: 60) { inspections.stats.booked == 2 }, "\(inspections.stats)")
        try await h.deliver()
        #expect(try await stock("OUT-1") == "released STO 50.0 QUA 0.0")
        #expect(try await status().contains("lots held by inspections: 0"))
        // An older failure delivered late, and a resend of the pass: neither holds the lot again.
        try await inspect(#"{"id": "QI-0", "lot": "OUT-1", "product": "WIDGET", "result": "fail", "at": "\#(Timestamp.minutes(-40).rfc3339)"}"#)
        try await inspect(#"{"id": "QI-2", "lot": "OUT-1", "product": "WIDGET", "result": "pass", "at": "\#(Timestamp.minutes(-20).rfc3339)", "by": "lab-1"}"#)
        #expect(await eventuallyAsync(timeout: 60) { inspections.stats.booked == 3 && inspections.stats.duplicates == 1 }, "\(inspections.stats)")
        try await h.deliver()
        #expect(try await stock("OUT-1") == "released STO 50.0 QUA 0.0")
        let late = try #require(try await h.store.posting(key: "lot_quality:insp:QI-0"))
        #expect(late.status == .acked && late.documentRef?.hasPrefix("stock.lot:") == true)
        #expect(try await h.store.audit(postingID: late.id).contains { $0.action == .acked && $0.detail.contains("superseded") })
        // The audit: both results (and the late one) with the trace of the lot.
        let (_, audited) = try await trace("OUT-1")
        let results = (audited["quality"] as? [[String: Any]] ?? []).map { "\($0["inspection"] ?? "") \($0["result"] ?? "") \($0["status"] ?? "")" }
        #expect(results == ["QI-0 fail acked", "QI-1 fail acked", "QI-2 pass acked"], "\(audited)")
        let said = try await offPool { try Executables.run(CentralProcess.binary, ["trace", "-c", config, "--lot", "OUT-1"]) }.output
        #expect(said.contains("lot OUT-1 is released by the latest inspection delivered (QI-2)"), "\(said)")
    }

    @Test func aDroppedFileIsBookedOnceWithEachBadLineRefusedByNumber() async throws {
        let drops = try TemporaryDirectory.make(prefix: "drops")
        let h = try await SyncHarness(extra: "mes: { confirmation_folder: \"\(drops.path)\", confirmation_folder_every: 1h }")
        let folder = try #require(h.runtime.confirmationFolder)
        let po = try await offPool { [tryton = h.tryton] in try tryton.createProduction(reference: "PO-FILE", quantity: 100) }
        try await h.importERP()
        let csv = """
            id,order,operation,yield,scrap,scrap_reason,at
            F-1,\(po.number),Press,30,,,2026-12-07T10:00:00Z
            F-2,\(po.number),Press,,4,dent,2026-12-07T10:05:00Z
            F-3,\(po.number),Press,-5,,,2026-12-07T10:10:00Z

            """
        try csv.write(to: drops.appendingPathComponent("shift-1.csv"), atomically: true, encoding: .utf8)
        try "half written".write(to: drops.appendingPathComponent("shift-2.csv.part"), atomically: true, encoding: .utf8)
        let first = try await folder.scanOnce()
        #expect(first.map(\.file) == ["shift-1.csv"], "a .part file is still being written")
        let r = try #require(first.first)
        #expect(r.booked == 2 && r.refused == 1 && r.movedTo == "processed/shift-1.csv")
        #expect(r.records.last == .init(line: 4, id: nil, outcome: "refused", reason: "the confirmation's \"yield\" must be 0 or more (got -5.0)"))
        #expect(FileManager.default.fileExists(atPath: drops.appendingPathComponent("processed/shift-1.csv").path))
        #expect(FileManager.default.fileExists(atPath: drops.appendingPathComponent("processed/shift-1.csv.result.json").path))
        #expect(!FileManager.default.fileExists(atPath: drops.appendingPathComponent("shift-1.csv").path))
        try await h.deliver()
        let outputs = try await offPool { [tryton = h.tryton] in try tryton.moves(po.id).outputs }
        #expect(outputs.filter { ($0["millwright_key"] as? String)?.hasPrefix("yield:mes:F-1") == true }.count == 1)
        #expect(outputs.filter { ($0["millwright_key"] as? String)?.hasPrefix("scrap:mes:F-2") == true }.count == 1)

        // The same file dropped again: nothing more is booked; the result says so.
        try csv.write(to: drops.appendingPathComponent("shift-1.csv"), atomically: true, encoding: .utf8)
        let again = try #require(try await folder.scanOnce().first)
        #expect(again.booked == 0 && again.duplicates == 2 && again.refused == 1 && again.movedTo.hasSuffix("-shift-1.csv"))
        #expect(try await h.store.postings().count == 2)
        // A file that is not text is moved to failed/ with why.
        try Data([0xff, 0xfe, 0x00]).write(to: drops.appendingPathComponent("garbage.json"))
        let failed = try #require(try await folder.scanOnce().first)
        #expect(failed.movedTo == "failed/garbage.json" && failed.error == "not UTF-8 text")
        #expect(folder.book.stats.booked == 2 && folder.book.stats.duplicates == 2)
    }
}
