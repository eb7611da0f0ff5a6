import CentralSync
import Foundation
import MillwrightCore
import Testing

/// What an MES confirmation books (`MESConfirmation.decode`, `ConfirmationPlanner`), case by case:
/// the fields are checked before any lookup; master data comes only from the ERP (an unknown order
/// or operation is refused, never created); an order not released or already closed takes nothing;
/// each figure becomes one posting with a key made of the confirmation's id.
@Suite struct ConfirmationPlannerTests {
    let at = Timestamp(rfc3339: "2026-12-07T10:00:00Z")!
    let routes: [PostingKind: String] = [.yield: "erp", .scrap: "erp", .workCycle: "erp"]

    func order(_ id: Int64 = 42, state: OrderState = .running, reference: String = "PO-42", operations: [String] = ["Press"]) -> ERPOrder {
        ERPOrder(id: id, number: "MO\(id)", reference: reference, state: state, productID: 5, productCode: "WIDGET", quantity: 100,
                 unitID: 1, companyID: 1, productionLocationID: 7, storageLocationID: 3, scrapLocationID: 11, plannedInputs: [:],
                 works: operations.enumerated().map { i, op in ERPWork(id: id * 10 + Int64(i), operation: op, workCenter: "Press 1", state: "running") },
                 currencyID: 1, unitCost: 2.5)
    }

    func decode(_ json: String) -> Result<MESConfirmation, ConfirmationRefusal> { MESConfirmation.decode(Array(json.utf8)) }

    func refusal(_ json: String) -> ConfirmationRefusal? {
        if case .failure(let r) = decode(json) { return r }
        return nil
    }

    @Test func fieldsAreCheckedBeforeAnyLookup() throws {
        let ok = try decode(#"{"id": " C-1 ", "order": "MO42", "operation": "Press", "yield": 40, "scrap": 2, "scrap_reason": "burr", "machine_seconds": 60, "at": "2026-12-07T10:00:00Z"}"#).get()
        #expect(ok.id == "C-1" && ok.yield == 40 && ok.scrap == 2 && ok.scrapReason == "burr" && ok.by == "mes" && ok.at == at)
        #expect(refusal(#"{"id": "C", "order": "MO42", "operation": "Press", "yield": -1, "at": "2026-12-07T10:00:00Z"}"#)
                == .invalid(field: "yield", reason: "must be 0 or more (got -1.0)"))
        #expect(refusal(#"{"id": "C", "order": "MO42", "operation": "Press", "yield": "40", "at": "2026-12-07T10:00:00Z"}"#)
                == .invalid(field: "yield", reason: "must be a number"))
        #expect(refusal(#"{"id": "C", "order": "MO42", "operation": "Press", "yield": true, "at": "2026-12-07T10:00:00Z"}"#)?.name == "invalid")
        #expect(refusal(#"{"id": "C", "order": "MO42", "operation": "Press", "yield": 1e12, "at": "2026-12-07T10:00:00Z"}"#)?.name == "invalid")
        #expect(refusal(#"{"id": "C", "order": "MO42", "operation": "Press", "machine_seconds": 9999999, "at": "2026-12-07T10:00:00Z"}"#)?.name == "invalid")
        #expect(refusal(#"{"id": "C", "order": "MO42", "operation": "Press", "scrap": 2, "at": "2026-12-07T10:00:00Z"}"#)
                == .invalid(field: "scrap_reason", reason: "is required with scrap (the reason code the ERP books it under)"))
        #expect(refusal(#"{"id": "C", "order": "MO42", "operation": "Press", "at": "2026-12-07T10:00:00Z"}"#)?.description.contains("nothing to confirm") == true)
        #expect(refusal(#"{"order": "MO42", "operation": "Press", "yield": 1, "at": "2026-12-07T10:00:00Z"}"#) == .invalid(field: "id", reason: "is required"))
        #expect(refusal(#"{"id": "C", "order": "MO42", "operation": "Press", "yield": 1, "at": "yesterday"}"#)?.name == "invalid")
        #expect(refusal(#"{"id": "C", "order": "MO42", "operation": "Press", "yeild": 1, "at": "2026-12-07T10:00:00Z"}"#)?.description.contains("\"yeild\"") == true)
        #expect(refusal(#"[1, 2]"#) == .malformed("not a JSON object"))
        #expect(refusal(String(repeating: " ", count: MESConfirmation.maxBytes + 1))?.name == "malformed")
    }

    @Test func eachFigureIsOnePostingKeyedByTheConfirmation() throws {
        let c = MESConfirmation(id: "C-1", order: "PO-42", operation: "Press", yield: 40, scrap: 2, scrapReason: "burr",
                                machineSeconds: 1500, laborSeconds: 1800, at: at, by: "line-1")
        let postings = try ConfirmationPlanner.postings(for: c, orders: [42: order()], routes: routes).get()
        #expect(postings.map(\.idempotencyKey) == ["yield:mes:C-1", "scrap:mes:C-1", "work_cycle:mes:C-1"])
        #expect(postings.allSatisfy { $0.orderID == 42 && $0.line.isEmpty && $0.sources == ["mes:C-1"] })
        let yield = try MovePayload.decode(postings[0].payload, as: .yield)
        #expect(yield.quantity == 40 && yield.toLocationID == 3 && yield.unitPrice == 2.5 && yield.workID == 420 && yield.postingDate == "2026-12-07")
        let scrap = try MovePayload.decode(postings[1].payload, as: .scrap)
        #expect(scrap.quantity == 2 && scrap.toLocationID == 11 && scrap.unitPrice == nil && scrap.reason == "burr")
        let cycle = try WorkCyclePayload.decode(postings[2].payload, as: .workCycle)
        #expect(cycle.workID == 420 && cycle.machineSeconds == 1500 && cycle.laborSeconds == 1800 && cycle.by == "line-1")
        for p in postings { try p.kind.validate(payload: p.payload, key: p.idempotencyKey) }
        // Only what is confirmed is booked.
        let time = MESConfirmation(id: "C-2", order: "MO42", operation: "Press", laborSeconds: 60, at: at)
        #expect(try ConfirmationPlanner.postings(for: time, orders: [42: order()], routes: routes).get().map(\.kind) == [.workCycle])
    }

    @Test func masterDataComesOnlyFromTheERP() {
        func refused(_ c: MESConfirmation, _ orders: [ERPOrder], routes: [PostingKind: String]? = nil) -> ConfirmationRefusal? {
            let byID = Dictionary(uniqueKeysWithValues: orders.map { ($0.id, $0) })
            if case .failure(let r) = ConfirmationPlanner.postings(for: c, orders: byID, routes: routes ?? self.routes) { return r }
            return nil
        }
        let c = MESConfirmation(id: "C", order: "PO-42", operation: "Press", yield: 1, at: at)
        #expect(refused(c, []) == .unknownOrder("PO-42"))
        #expect(refused(c, [order(42), order(43, reference: "PO-42")]) == .ambiguousOrder("PO-42", numbers: ["MO42", "MO43"]))
        #expect(refused(MESConfirmation(id: "C", order: "MO42", operation: "Paint", yield: 1, at: at), [order()])
                == .unknownOperation(order: "MO42", operation: "Paint", known: ["Press"]))
        #expect(refused(c, [order(operations: ["Press", "Press"])]) == .ambiguousOperation(order: "MO42", operation: "Press", works: [420, 421]))
        var byWork = c
        byWork.work = 421
        #expect(refused(byWork, [order(operations: ["Press", "Press"])]) == nil, "the work id settles it")
        for state in [OrderState.request, .draft, .done, .cancelled] {
            #expect(refused(c, [order(state: state)]) == .orderNotOpen(order: "MO42", state: state))
        }
        #expect(refused(c, [order()], routes: [:]) == .notRouted(.yield))
    }

    /// Lot genealogy's inputs: the output lot rides on the yield and scrap moves, each consumed lot
    /// is an `input_lot` posting of the material the order's bill of materials names, keyed
    /// `input_lot:mes:<id>#<n>`; a material the order does not consume is refused, never created.
    @Test func lotsRideOnTheMovesAndEachConsumedLotIsOnePosting() throws {
        var o = order()
        o.plannedInputs = ["STEEL": .init(productID: 8, unitID: 2, quantity: 100)]
        let json = #"{"id": "C#1", "order": "MO42", "operation": "Press", "yield": 40, "lot": "OUT-1", "at": "2026-12-07T10:00:00Z", "consumed": [{"material": "STEEL", "lot": "HEAT-1", "quantity": 30}, {"material": "STEEL", "lot": "HEAT-2", "quantity": 10}]}"#
        let c = try decode(json).get()
        #expect(c.lot == "OUT-1" && c.consumed == [ConsumedLot(material: "STEEL", lot: "HEAT-1", quantity: 30), ConsumedLot(material: "STEEL", lot: "HEAT-2", quantity: 10)])
        var all = routes
        all[.inputLot] = "erp"
        let postings = try ConfirmationPlanner.postings(for: c, orders: [42: o], routes: all).get()
        #expect(postings.map(\.idempotencyKey) == ["yield:mes:C#1", "input_lot:mes:C#1#1", "input_lot:mes:C#1#2"])
        #expect(try MovePayload.decode(postings[0].payload, as: .yield).lot == "OUT-1")
        let heat = try MovePayload.decode(postings[2].payload, as: .inputLot)
        #expect(heat.lot == "HEAT-2" && heat.quantity == 10 && heat.productID == 8 && heat.unitID == 2 && heat.productCode == "STEEL"
                && heat.fromLocationID == 3 && heat.toLocationID == 7 && heat.workID == 420)
        for p in postings { try p.kind.validate(payload: p.payload, key: p.idempotencyKey) }
        // The confirmation's id read back from every key, even one with a '#' of its own.
        let ids = postings.map { p in
            ConfirmationPlanner.confirmationID(of: Posting(id: 1, idempotencyKey: p.idempotencyKey, target: "erp", kind: p.kind, line: "", orderID: 42,
                                                           quantity: p.quantity, payload: p.payload, sources: [], status: .pending, attempts: 0,
                                                           nextAttemptAt: at, documentRef: nil, lastError: nil, createdAt: at, updatedAt: at))
        }
        #expect(ids == ["C#1", "C#1", "C#1"])
        #expect(ConfirmationPlanner.postings(for: c, orders: [42: o], routes: routes) == .failure(.notRouted(.inputLot)))

        let copper = try decode(json.replacingOccurrences(of: "\"material\": \"STEEL\", \"lot\": \"HEAT-2\"", with: "\"material\": \"COPPER\", \"lot\": \"C-9\"")).get()
        #expect(ConfirmationPlanner.postings(for: copper, orders: [42: o], routes: all)
                == .failure(.unknownMaterial(order: "MO42", material: "COPPER", known: ["STEEL"])))
        // Each lot checked field by field, named by its place in the list.
        let base = #"{"id": "C", "order": "MO42", "operation": "Press", "yield": 1, "at": "2026-12-07T10:00:00Z", "consumed": "#
        #expect(refusal(base + #"[{"material": "STEEL", "lot": "H", "quantity": -1}]}"#) == .invalid(field: "consumed[0].quantity", reason: "must be 0 or more (got -1.0)"))
        #expect(refusal(base + #"[{"material": "STEEL", "lot": "H", "quantity": 1}, {"material": "STEEL", "quantity": 1}]}"#) == .invalid(field: "consumed[1].lot", reason: "is required"))
        #expect(refusal(base + #"[{"material": "STEEL", "lot": "H", "quantity": "1"}]}"#) == .invalid(field: "consumed[0].quantity", reason: "must be a number"))
        #expect(refusal(base + #"[{"material": "STEEL", "lot": "H", "qty": 1}]}"#)?.description.contains("consumed[0].qty") == true)
        #expect(refusal(base + #"[{"material": "STEEL", "lot": "H", "quantity": 1}, {"material": "STEEL", "lot": "H", "quantity": 2}]}"#)?.name == "invalid")
        #expect(refusal(base + #"{"material": "STEEL"}}"#) == .invalid(field: "consumed", reason: "must be a list of {material, lot, quantity}"))
        #expect(refusal(#"{"id": "C", "order": "MO42", "operation": "Press", "machine_seconds": 5, "lot": "L", "at": "2026-12-07T10:00:00Z"}"#)
                == .invalid(field: "lot", reason: "needs yield or scrap to belong to"))
    }
}
