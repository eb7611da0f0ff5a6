import CentralSync
import Foundation
import MillwrightCore
import Reconciliation
import Testing

/// What the synchronisation knows of the ERP and the MES, on every backend: imported orders come
/// back exactly as imported (operations, equipment, planned inputs, optional fields), an import
/// updates them and their import time; assignment changes are recorded once each, in time order,
/// with their source and operator.
@Suite struct MasterDataStoreContractTests {
    let t0 = Timestamp(milliseconds: 1_765_000_000_000)

    func order(_ id: Int64, state: OrderState = .running, quantity: Double = 100) -> ERPOrder {
        ERPOrder(id: id, number: "MO\(id)", reference: "PO-\(id)", state: state, productID: 5, productCode: "WIDGET", quantity: quantity,
                 unitID: 1, companyID: 1, productionLocationID: 7, storageLocationID: 3, scrapLocationID: id == 1 ? 11 : nil,
                 plannedInputs: ["STEEL": .init(productID: 9, unitID: 2, quantity: 50.5)],
                 works: [ERPWork(id: 100 + id, operation: "Press", workCenter: "Line 1 / Press 1", workCenterID: 3, equipment: ["press-1"],
                                 state: "running")],
                 currencyID: id == 1 ? 1 : nil, unitCost: id == 1 ? 2.5 : nil)
    }

    @Test(arguments: StoreBackend.allCases)
    func ordersComeBackAsImportedAndAnImportUpdatesThem(_ backend: StoreBackend) async throws {
        let store = try await PostingsStoreContractTests.open(backend)
        let first = [order(1), order(2, state: .waiting)]
        try await store.upsertOrders(first, now: t0)
        #expect(try await store.orders() == [1: first[0], 2: first[1]])
        #expect(try await store.orderImportTimes() == [1: t0, 2: t0])
        // A later import changes one order; the other keeps its import time.
        let changed = order(2, state: .cancelled, quantity: 80)
        try await store.upsertOrders([changed], now: t0 + .seconds(60))
        #expect(try await store.orders()[2] == changed)
        #expect(try await store.orderImportTimes() == [1: t0, 2: t0 + .seconds(60)])
        try await store.upsertOrders([], now: t0 + .seconds(120))
        #expect(try await store.orders().count == 2)
    }

    @Test(arguments: StoreBackend.allCases)
    func assignmentChangesAreRecordedOnceInTimeOrder(_ backend: StoreBackend) async throws {
        let store = try await PostingsStoreContractTests.open(backend)
        #expect(try await store.recordAssignmentChange(equipment: "press-1", orderRef: "PO-2", operation: "Press", action: .start,
                                                       at: t0 + .seconds(600), source: .mes, operator: nil, now: t0 + .seconds(601)))
        #expect(try await store.recordAssignmentChange(equipment: "press-1", orderRef: "PO-1", operation: "", action: .start,
                                                       at: t0, source: .operator, operator: "alice", now: t0 + .seconds(700)))
        // The same change again (an MES resending, an import seeing the same work): recorded once.
        #expect(try await store.recordAssignmentChange(equipment: "press-1", orderRef: "PO-2", operation: "Press", action: .start,
                                                       at: t0 + .seconds(600), source: .mes, operator: nil, now: t0 + .seconds(900)) == false)
        let changes = try await store.assignmentChanges()
        #expect(changes == [
            AssignmentRecord(equipment: "press-1", orderRef: "PO-1", operation: "", action: .start, at: t0, source: .operator,
                             receivedAt: t0 + .seconds(700), operator: "alice"),
            AssignmentRecord(equipment: "press-1", orderRef: "PO-2", operation: "Press", action: .start, at: t0 + .seconds(600), source: .mes,
                             receivedAt: t0 + .seconds(601), operator: nil),
        ])
    }
}
