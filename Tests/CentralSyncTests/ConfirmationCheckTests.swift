import CentralSync
import Reconciliation
import Testing

/// The machines' counts against the MES's confirmations (`ConfirmationCheck`): compared per order,
/// operation and kind once the order ended, a difference beyond the tolerance (a share of the
/// confirmed figure) is a discrepancy with both figures; a running order or one the MES never
/// confirmed is not checked.
@Suite struct ConfirmationCheckTests {
    typealias Op = ConfirmationCheck.Operation

    @Test func aDifferenceBeyondTheToleranceIsADiscrepancyWithBothFigures() {
        let mes: [Op: Double] = [Op(orderID: 1, workID: 10, kind: .yield): 100]
        let found = ConfirmationCheck.discrepancies(confirmed: mes, counted: [Op(orderID: 1, workID: 10, kind: .yield): 93], ended: [1], tolerance: 0.05)
        #expect(found == [Discrepancy(orderID: 1, workID: 10, kind: .yield, confirmed: 100, counted: 93, tolerance: 0.05)])
        #expect(ConfirmationCheck.discrepancies(confirmed: mes, counted: [Op(orderID: 1, workID: 10, kind: .yield): 96], ended: [1], tolerance: 0.05).isEmpty)
        #expect(ConfirmationCheck.discrepancies(confirmed: mes, counted: [Op(orderID: 1, workID: 10, kind: .yield): 105], ended: [1], tolerance: 0.05).isEmpty,
                "exactly at the tolerance is within it")
        #expect(ConfirmationCheck.discrepancies(confirmed: mes, counted: [Op(orderID: 1, workID: 10, kind: .yield): 106], ended: [1], tolerance: 0.05).count == 1)
    }

    @Test func onlyEndedOrdersTheMESConfirmedAreChecked() {
        let counted: [Op: Double] = [Op(orderID: 1, workID: 10, kind: .yield): 50, Op(orderID: 2, workID: 20, kind: .yield): 50]
        let mes: [Op: Double] = [Op(orderID: 1, workID: 10, kind: .yield): 100]
        #expect(ConfirmationCheck.discrepancies(confirmed: mes, counted: counted, ended: [], tolerance: 0.05).isEmpty, "still running")
        #expect(ConfirmationCheck.discrepancies(confirmed: mes, counted: counted, ended: [1, 2], tolerance: 0.05).map(\.orderID) == [1],
                "order 2 was never confirmed: the machines are its only source")
    }

    @Test func eachOperationAndKindIsComparedAndCountsWithoutAWorkAreComparedAsTotals() {
        let mes: [Op: Double] = [Op(orderID: 1, workID: 10, kind: .yield): 60, Op(orderID: 1, workID: 11, kind: .yield): 40,
                                 Op(orderID: 1, workID: 10, kind: .scrap): 2]
        let perWork = ConfirmationCheck.discrepancies(confirmed: mes, counted: [Op(orderID: 1, workID: 10, kind: .yield): 100], ended: [1], tolerance: 0.05)
        #expect(perWork.map { "\($0.workID ?? 0) \($0.kind) \($0.confirmed) \($0.counted)" } == ["10 yield 60.0 100.0", "11 yield 40.0 0.0", "10 scrap 2.0 0.0"])
        let totals = ConfirmationCheck.discrepancies(confirmed: mes, counted: [Op(orderID: 1, workID: nil, kind: .yield): 100,
                                                                              Op(orderID: 1, workID: nil, kind: .scrap): 2], ended: [1], tolerance: 0)
        #expect(totals.isEmpty, "no work on the counts: the order's totals agree")
        #expect(Discrepancy(orderID: 1, workID: 10, kind: .yield, confirmed: 100, counted: 93, tolerance: 0.05).description
                == "order 1 work 10 yield: the MES confirmed 100, the machines counted 93 (-7.0%), beyond the tolerance of 5%")
    }
}
