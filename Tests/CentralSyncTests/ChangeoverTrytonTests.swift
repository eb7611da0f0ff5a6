import CentralSync
import EdgeRules
import Foundation
import MillwrightCore
import Reconciliation
import Testing
import TestSupport

/// A changeover on a real Tryton, with the counts made by the edge's own counter rule from readings
/// 1 s apart: order A runs, the press stands still for set-up (5 to 30 s), B starts, and each
/// order's output moves must equal the parts made while it ran, exactly. Before, a count ran from
/// the last reading of the count before, so the idle time was counted as production time and A was
/// credited with B's first parts in proportion to the pause.
@Suite(.serialized) struct ChangeoverTrytonTests {
    /// What the press did, and the counts the edge's counter rule made of it.
    struct Press {
        var counts: [RuleEvent] = []
        var madeA = 0.0, madeB = 0.0
        /// A's last part's reading, and the last reading before B's first part.
        var lastA = Timestamp(milliseconds: 0), beforeB = Timestamp(milliseconds: 0)
        var end = Timestamp(milliseconds: 0)
    }

    /// Readings 1 s apart from `start`: A makes a part in most readings for `aSeconds`, the press
    /// stands still `pause` s, then B does the same for `bSeconds`.
    static func press(from start: Timestamp, every: Millis, aSeconds: Int, pause: Int, bSeconds: Int) -> Press {
        var rule = CounterRule(params: CounterParams(bits: 16, every: every))
        var p = Press()
        var raw = 65_500.0  // rolls over during A: the rule's wrap is part of the path
        var t = start
        func read(_ steps: Double) {
            raw = (raw + steps).truncatingRemainder(dividingBy: 65_536)
            _ = rule.observe(Sample(value: .number(raw), time: t, timeSource: .sensor, receivedAt: t), into: &p.counts)
            rule.tick(now: t, into: &p.counts)
            t = t + .seconds(1)
        }
        read(0)
        for i in 0..<aSeconds {
            let steps: Double = i % 7 == 3 ? 0 : (i % 3 == 0 ? 2 : 1)  // a short stop in the cycle, never a pause
            read(steps)
            p.madeA += steps
        }
        p.lastA = t - .seconds(1)
        for _ in 0..<pause { read(0) }
        p.beforeB = t - .seconds(1)
        for _ in 0..<bSeconds {
            read(1)
            p.madeB += 1
        }
        p.end = t
        rule.tick(now: t + every + .seconds(1), into: &p.counts)
        return p
    }

    static func envelopes(_ h: SyncHarness, _ counts: [RuleEvent]) -> [EventEnvelope] {
        counts.filter { $0.type == .count }.map { h.event(.count, signal: "parts", at: $0.occurredAt, values: $0.values) }
    }

    /// The MES stops A after its last part and starts B during the pause: a 5 s pause inside one
    /// 60 s cadence period (before, one count spanned it), and a 30 s pause at a 10 s cadence.
    @Test(arguments: [(60, 5), (10, 30)])
    func mesChangeoverCreditsEachOrderWithItsOwnParts(every: Int, pause: Int) async throws {
        let h = try await SyncHarness()
        let a = try h.tryton.createProduction(reference: "PO-A", quantity: 500)
        let b = try h.tryton.createProduction(reference: "PO-B", quantity: 500)
        try await h.importERP()
        let start = Timestamp.minutes(-30)
        let p = Self.press(from: start, every: .seconds(Int64(every)), aSeconds: 95, pause: pause, bSeconds: 70)
        try await h.mes("PO-A", .start, at: start - .seconds(60))
        // The stop half a second after A's last part, the start half a second before B's first
        // part's previous reading: the whole pause between them.
        try await h.mes("PO-A", .stop, at: p.lastA + Millis(500))
        try await h.mes("PO-B", .start, at: p.beforeB - Millis(500))
        try await h.send(Self.envelopes(h, p.counts))
        try await h.reconcile()
        try await h.deliver()
        #expect(try h.trytonTotals(a.id).yield == p.madeA, "A made \(p.madeA)")
        #expect(try h.trytonTotals(b.id).yield == p.madeB, "B made \(p.madeB)")
        #expect(try await h.store.unassigned().isEmpty, "nothing made between the orders")
    }

    /// No MES: Tryton's works say which order runs. A is done in Tryton after its last part, B set
    /// running during the pause; the import that sees each change dates it.
    @Test func trytonRunningWorkChangeoverCreditsEachOrderWithItsOwnParts() async throws {
        let every = 60
        let h = try await SyncHarness()
        let a = try h.tryton.createProduction(reference: "PO-A", quantity: 500)
        let b = try h.tryton.createProduction(reference: "PO-B", quantity: 500, state: "assigned")
        let start = Timestamp.minutes(-30)
        let p = Self.press(from: start, every: .seconds(Int64(every)), aSeconds: 95, pause: 12, bSeconds: 70)
        try await h.runtime.importer!.importOnce(now: start - .seconds(60))
        let countsA = Self.envelopes(h, p.counts.filter { $0.occurredAt <= p.lastA })
        try await h.send(countsA)
        try await h.reconcile()
        try await h.deliver()
        #expect(try h.trytonTotals(a.id).yield == p.madeA, "A made \(p.madeA)")
        try h.tryton.completeProduction(a.id)
        try await h.runtime.importer!.importOnce(now: p.lastA + .seconds(2))
        try h.tryton.runProduction(b.id)
        try await h.runtime.importer!.importOnce(now: p.beforeB - Millis(500))
        try await h.send(Self.envelopes(h, p.counts.filter { $0.occurredAt > p.lastA }))
        try await h.reconcile()
        try await h.deliver()
        #expect(try h.trytonTotals(b.id).yield == p.madeB, "B made \(p.madeB)")
        #expect(try h.trytonTotals(a.id).yield == p.madeA)
        #expect(try await h.store.reviewItems().isEmpty)
        #expect(try await h.store.unassigned().isEmpty)
    }

    /// A done in Tryton before its counts arrive (buffered at the edge): all of A's parts go to
    /// review, none of B's among them, and B gets exactly its own.
    @Test func lateCountsOfADoneOrderGoToReviewWithoutTheNextOrdersParts() async throws {
        let h = try await SyncHarness()
        let a = try h.tryton.createProduction(reference: "PO-A", quantity: 500)
        let b = try h.tryton.createProduction(reference: "PO-B", quantity: 500)
        let start = Timestamp.minutes(-30)
        let p = Self.press(from: start, every: .seconds(60), aSeconds: 95, pause: 8, bSeconds: 70)
        try h.tryton.completeProduction(a.id)
        try await h.importERP()
        try await h.mes("PO-A", .start, at: start - .seconds(60))
        try await h.mes("PO-A", .stop, at: p.lastA + Millis(500))
        try await h.mes("PO-B", .start, at: p.beforeB - Millis(500))
        // Buffered at the edge for half an hour: sent as backlog (`is_historical`), as the edge marks it.
        let late = Self.envelopes(h, p.counts).map { e -> EventEnvelope in
            var e = e
            e.isHistorical = true
            return e
        }
        try await h.send(late, receivedAt: .now())
        try await h.reconcile()
        try await h.deliver()
        let review = try await h.store.reviewItems()
        #expect(review.allSatisfy { $0.orderID == a.id && $0.reason.contains("closed") }, "\(review)")
        #expect(review.map(\.quantity).reduce(0, +) == p.madeA, "A made \(p.madeA); in review: \(review.map(\.quantity))")
        let unassigned = try await h.store.unassigned()
        let postings = try await h.store.postings().map { "\($0.kind) \($0.quantity) \($0.status) \($0.lastError ?? "")" }
        #expect(try h.trytonTotals(b.id).yield == p.madeB, "B made \(p.madeB); unassigned \(unassigned); postings \(postings)")
        #expect(try h.trytonTotals(a.id).yield == 0)
    }
}
