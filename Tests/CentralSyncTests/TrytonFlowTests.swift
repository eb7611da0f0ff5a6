import CentralIngest
import CentralSync
import Foundation
import MillwrightCore
import Reconciliation
import Testing
import TestSupport

/// The thin path end to end against a real Tryton: import, assignment, counts, declaration, move.
@Suite(.serialized) struct TrytonFlowTests {
    @Test func countsBecomeOneOutputMovePerBucketInTryton() async throws {
        let h = try await SyncHarness()
        let order = try h.tryton.createProduction(reference: "PO-FLOW-1", quantity: 100)
        try await h.importERP()
        let t0 = Timestamp.minutes(-60)
        try await h.mes("PO-FLOW-1", .start, at: t0)
        // 12 minutes of 5 parts a minute inside one 15-minute bucket... and two in the next.
        let bucketStart = Timestamp(milliseconds: t0.milliseconds - t0.milliseconds % 900_000 + 900_000)
        var events: [EventEnvelope] = []
        for m in 0..<14 { events.append(h.count(5, from: bucketStart + .seconds(Int64(m) * 60), to: bucketStart + .seconds(Int64(m + 1) * 60))) }
        try await h.send(events)
        try await h.reconcile()
        try await h.deliver()
        let posted = try await h.store.postings()
        #expect(posted.count == 1)
        #expect(posted.allSatisfy { $0.status == .acked && $0.documentRef?.hasPrefix("stock.move:") == true })
        let totals = try h.trytonTotals(order.id)
        #expect(totals.yield == 70)
        let ledger = try await h.ledger(order.id)
        #expect(ledger.count == 1 && ledger[0].derived == 70 && ledger[0].posted == 70 && ledger[0].isBalanced)
        // Trace back from the Tryton document to the events and the edge.
        let back = try await Trace(store: h.store, events: h.events).back(document: posted[0].documentRef!)
        #expect(back.events.count == 14 && back.edges == ["gw-1"])
    }
}
