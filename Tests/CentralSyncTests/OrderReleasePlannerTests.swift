import CentralSync
import Foundation
import MillwrightCore
import Testing

/// Which order versions the MES is sent (`OrderReleasePlanner`), case by case: released orders go
/// to each equipment their operations run on; only a change the MES acts on makes a new version;
/// ends are sent only where the order was released; equipment an operation left is withdrawn; a
/// pass repeated decides the same keys.
@Suite struct OrderReleasePlannerTests {
    func order(_ id: Int64 = 42, state: OrderState = .waiting, quantity: Double = 100, equipment: [[String]] = [["press-1"]],
               inputs: [String: Double] = ["STEEL": 50]) -> ERPOrder {
        ERPOrder(id: id, number: "MO\(id)", reference: "PO-\(id)", state: state, productID: 5, productCode: "WIDGET", quantity: quantity,
                 unitID: 1, companyID: 1, productionLocationID: 7, storageLocationID: 3, scrapLocationID: nil,
                 plannedInputs: inputs.mapValues { ERPOrder.PlannedInput(productID: 9, unitID: 1, quantity: $0) },
                 works: equipment.enumerated().map { i, e in
                     ERPWork(id: Int64(100 + i), operation: "Op \(i)", workCenter: "Line 1 / Press \(i + 1)", workCenterID: Int64(3 + i),
                             equipment: e, state: "request")
                 })
    }

    func plan(_ orders: [ERPOrder], _ published: [OrderReleasePayload]) throws -> [OrderReleasePayload] {
        try OrderReleasePlanner.plan(orders: Dictionary(uniqueKeysWithValues: orders.map { ($0.id, $0) }), published: published, target: "mes")
            .map { try OrderReleasePayload.decode($0.payload, as: .orderRelease) }
    }

    @Test func aReleasedOrderGoesToEachEquipmentItsOperationsRunOnOnce() throws {
        let first = try plan([order(equipment: [["press-1"], ["press-2", "oven-1"]])], [])
        #expect(first.map(\.equipment) == ["oven-1", "press-1", "press-2"])
        #expect(first.allSatisfy { $0.version == 1 && $0.status == .released && $0.key.hasSuffix(":v1") })
        #expect(first[0].material.quantity == 100 && first[0].materials.map(\.code) == ["STEEL"] && first[0].operations.count == 2)
        #expect(try plan([order(equipment: [["press-1"], ["press-2", "oven-1"]])], first).isEmpty, "the same order again: nothing")
        // An order not released yet, or never released and already ended, is nothing for an MES.
        #expect(try plan([order(state: .draft), order(43, state: .done), order(44, state: .cancelled)], []).isEmpty)
    }

    @Test func aChangeTheMESActsOnIsTheNextVersionAndBookkeepingIsNot() throws {
        let v1 = try plan([order()], [])
        let v2 = try plan([order(quantity: 150)], v1)
        #expect(v2.map(\.version) == [2] && v2[0].material.quantity == 150 && v2[0].key == "order_release:42:press-1:v2")
        // The ERP's own progress (waiting -> assigned -> running, a work's state) is not a change.
        var running = order(state: .running, quantity: 150)
        running.works[0].state = "running"
        #expect(try plan([running], v1 + v2).isEmpty)
        // Completion: a version; after it, further ERP changes are not the MES's.
        let done = try plan([order(state: .done, quantity: 150)], v1 + v2)
        #expect(done.map(\.status) == [.completed] && done[0].version == 3)
        #expect(try plan([order(state: .done, quantity: 160)], v1 + v2 + done).isEmpty)
    }

    @Test func cancelledAndTakenBackOrdersAreSentWhereTheyWereReleased() throws {
        let v1 = try plan([order()], [])
        #expect(try plan([order(state: .cancelled)], v1).map(\.status) == [.cancelled])
        // Tryton deletes a cancelled order's unstarted works: still cancelled where it was released.
        #expect(try plan([order(state: .cancelled, equipment: [])], v1).map { "\($0.equipment) \($0.status)" } == ["press-1 cancelled"])
        #expect(try plan([order(state: .draft, equipment: [])], v1).map { "\($0.equipment) \($0.status)" } == ["press-1 withdrawn"])
        let back = try plan([order(state: .draft)], v1)
        #expect(back.map(\.status) == [.withdrawn])
        // Released again after the draft: a new version, released.
        #expect(try plan([order(quantity: 120)], v1 + back).map { "\($0.status) v\($0.version)" } == ["released v3"])
    }

    @Test func equipmentAnOperationLeftIsWithdrawnThere() throws {
        let v1 = try plan([order(equipment: [["press-1"], ["press-2"]])], [])
        let v2 = try plan([order(equipment: [["press-1"]])], v1)
        #expect(v2.map { "\($0.equipment) \($0.status) v\($0.version)" } == ["press-1 released v2", "press-2 withdrawn v2"])
        // Withdrawn stays withdrawn while the order changes elsewhere.
        #expect(try plan([order(quantity: 90, equipment: [["press-1"]])], v1 + v2).map(\.equipment) == ["press-1"])
    }

    @Test func anEditedReleaseIsCheckedBeforeAReplay() throws {
        let v1 = try #require(try plan([order()], []).first)
        var wrongKey = v1
        wrongKey.key = "order_release:42:press-1:v9"
        #expect(throws: PayloadError.self) { try PostingKind.orderRelease.validate(payload: try wrongKey.encoded(), key: v1.key) }
        var negative = v1
        negative.materials[0].quantity = -1
        #expect(throws: PayloadError.self) { try PostingKind.orderRelease.validate(payload: try negative.encoded(), key: v1.key) }
        #expect(throws: PayloadError.self) {
            try PostingKind.orderRelease.validate(payload: try v1.encoded().replacingOccurrences(of: "\"status\"", with: "\"statu\""), key: v1.key)
        }
        try PostingKind.orderRelease.validate(payload: try v1.encoded(), key: v1.key)
    }

    @Test func answersAreCheckedBeforeTheyChangeAnything() {
        func decode(_ s: String) -> Result<ReleaseAnswer, ReleaseAnswerRefusal> { ReleaseAnswer.decode(Array(s.utf8)) }
        #expect((try? decode(#"{"key":"order_release:42:press-1:v1","result":"accepted"}"#).get())?.result == .accepted)
        #expect(decode(#"{"key":"order_release:42:press-1:v1","result":"rejected"}"#).failureName == "malformed", "a rejection needs a reason")
        #expect(decode(#"{"key":"yield:1/2/yield//7:r1","result":"accepted"}"#).failureName == "not_a_release")
        #expect(decode(#"{"key":"order_release:42:press-1:v1","result":"maybe"}"#).failureName == "malformed")
        #expect(decode("not json").failureName == "malformed")
        #expect(decode(String(repeating: " ", count: ReleaseAnswer.maxBytes + 1)).failureName == "malformed")
    }
}

extension Result where Failure == ReleaseAnswerRefusal {
    var failureName: String? {
        if case .failure(let r) = self { return r.name }
        return nil
    }
}
