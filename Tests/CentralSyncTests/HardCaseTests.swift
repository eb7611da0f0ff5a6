@testable import CentralSync
import EdgeRules
import ERPConnectors
import Foundation
import Logging
import MillwrightCore
import Reconciliation
import Testing
import TestSupport

/// The issue's hard cases, each against a real Tryton server (pip-installed, started on loopback).
@Suite(.serialized) struct HardCaseTests {
    /// The start of the 15-minute bucket `minutes` from now (negative: in the past).
    static func bucket(_ minutes: Int64) -> Timestamp {
        let t = Timestamp.minutes(minutes).milliseconds
        return Timestamp(milliseconds: t - t % 900_000)
    }

    static func perMinute(_ h: SyncHarness, from start: Timestamp, minutes: Int, parts: Double = 1, signal: String = "parts",
                          skew: Millis = .zero, historical: Bool = false) -> [EventEnvelope] {
        (0..<minutes).map { m in
            h.count(parts, signal: signal, from: start + .seconds(Int64(m) * 60), to: start + .seconds(Int64(m + 1) * 60),
                    skew: skew, historical: historical)
        }
    }

    // 1. Counts buffered for hours arrive after the order is done in Tryton.
    @Test func lateCountsForAClosedOrderGoToReviewAndTheLedgerBalances() async throws {
        let h = try await SyncHarness()
        let po = try h.tryton.createProduction(reference: "PO-LATE", quantity: 100)
        try await h.importERP()
        let t0 = Self.bucket(-300)
        try await h.mes("PO-LATE", .start, at: t0)
        try await h.mes("PO-LATE", .stop, at: t0 + .seconds(7200))
        try await h.send(Self.perMinute(h, from: t0, minutes: 60))
        try await h.reconcile()
        try await h.deliver()
        #expect(try h.trytonTotals(po.id).yield == 60)
        let postedBefore = try await h.store.postings().count

        try h.tryton.completeProduction(po.id)
        try await h.importERP()
        // The second hour was buffered at the edge for hours and arrives now, marked historical.
        try await h.send(Self.perMinute(h, from: t0 + .seconds(3600), minutes: 60, historical: true), receivedAt: .now())
        try await h.reconcile()
        try await h.deliver()

        #expect(try await h.store.postings().count == postedBefore, "nothing may be posted to a closed order")
        #expect(try h.trytonTotals(po.id).yield == 60)
        let review = try await h.store.reviewItems()
        #expect(review.map(\.quantity).reduce(0, +) == 60)
        #expect(review.allSatisfy { $0.orderID == po.id && $0.reason.contains("closed") })
        let ledger = try await h.ledger(po.id)
        #expect(ledger.count == 1)
        #expect(ledger.first.map { $0.derived == 120 && $0.posted == 60 && $0.inReview == 60 && $0.open == 0 && $0.inFlight == 0 } == true)
    }

    // 2. Counter wrap and counter reset inside one interval.
    @Test func counterWrapAndResetInOneIntervalGiveTheRightDeclaration() async throws {
        let h = try await SyncHarness()
        let po = try h.tryton.createProduction(reference: "PO-WRAP", quantity: 1000)
        try await h.importERP()
        let t0 = Self.bucket(-60)
        try await h.mes("PO-WRAP", .start, at: t0)
        // The edge's own counter rule (16-bit PLC counter), fed one interval's raw readings:
        // 65000 -> 65500 (+500) -> wraps to 200 (+236) -> PLC reboot to 0 (reset: +0) -> 50 (+50).
        var rule = CounterRule(params: CounterParams(bits: 16, every: .seconds(600)))
        var out: [RuleEvent] = []
        for (i, raw) in [65000.0, 65500, 200, 0, 50].enumerated() {
            let at = t0 + .seconds(Int64(i) * 60 + 30)
            _ = rule.observe(Sample(value: .number(raw), time: at, timeSource: .sensor, receivedAt: at), into: &out)
        }
        rule.tick(now: t0 + .seconds(700), into: &out)
        let counts = out.filter { $0.type == .count }
        #expect(counts.count == 1)
        let delta = counts.first?.values["delta"]?.number ?? -1
        #expect(delta == 786)
        guard let c = counts.first, case .text(let f)? = c.values["from"], case .text(let t)? = c.values["to"],
              let from = Timestamp(rfc3339: f), let to = Timestamp(rfc3339: t) else { return }
        try await h.send([h.count(delta, from: from, to: to)])
        try await h.reconcile()
        try await h.deliver()
        #expect(try h.trytonTotals(po.id).yield == 786)
    }

    // 3. The edge resends after reconnect, and an ERP call times out after the ERP committed.
    @Test func resendAndATimeoutAfterCommitGiveExactlyOneDocument() async throws {
        let tryton = try TrytonServer()
        // The first create is applied by Tryton, but its answer is held back 8 s (the connector waits
        // 5 s: on a starved machine a login alone, which hashes the password, can take over 2 s).
        let (proxy, proxyPort) = try tryton.proxy(faults: #"{"delay_after_upstream_s": 8.0, "match": "model.stock.move.create", "times": 1}"#)
        defer { proxy.terminate(grace: 1) }
        let h = try await SyncHarness(tryton: tryton, trytonURL: "http://127.0.0.1:\(proxyPort)", trytonTimeout: "5s")
        let po = try tryton.createProduction(reference: "PO-TIMEOUT", quantity: 100)
        try await h.importERP()
        let t0 = Self.bucket(-60)
        try await h.mes("PO-TIMEOUT", .start, at: t0)
        let events = Self.perMinute(h, from: t0, minutes: 10, parts: 3)
        #expect(try await h.send(events).inserted == 10)
        // The edge reconnects and resends the same batch: all duplicates.
        #expect(try await h.send(events).duplicates == 10)
        try await h.reconcile()
        try await h.deliver()
        try await h.reconcile()
        try await h.deliver()
        let totals = try h.trytonTotals(po.id)
        #expect(totals.keys.count == 1, "exactly one ERP document")
        #expect(totals.yield == 30)
        let p = try await h.store.postings()
        #expect(p.count == 1 && p.first?.status == .acked)
        #expect((p.first?.attempts ?? 0) >= 2, "the first attempt timed out")
        let audit = try await h.store.audit(postingID: p.first?.id ?? 0)
        #expect(audit.contains { $0.action == .acked && $0.detail.contains("found by reference") })
        #expect(h.runtime.dispatcher.stats.foundExisting == 1, "counted as found, not created")
    }

    // 4. The same events shuffled in any order give an identical ledger.
    @Test func shuffledArrivalGivesAnIdenticalLedger() async throws {
        let tryton = try TrytonServer()
        var ledgers: [[String]] = []
        var trytonYields: [Double] = []
        let t0 = Self.bucket(-120)
        for run in 1...3 {
            let h = try await SyncHarness(tryton: tryton)
            let ref = "PO-SHUF-\(run)"
            let po = try tryton.createProduction(reference: ref, quantity: 500)
            try await h.importERP()
            try await h.mes(ref, .start, at: t0)
            var events: [EventEnvelope] = []
            for m in 0..<60 {
                let from = t0 + Millis.seconds(Int64(m) * 60)
                // Delivered later from the edge's backlog, so marked historical (a late live event would read as clock skew).
                events.append(h.count(Double(m % 7 + 1), from: from, to: from + Millis.seconds(60), historical: true))
            }
            events.shuffle()
            // Arriving in four chunks, with reconciliation and posting between them.
            for chunk in stride(from: 0, to: events.count, by: 15) {
                try await h.send(Array(events[chunk..<min(chunk + 15, events.count)]), receivedAt: .now())
                try await h.reconcile()
                try await h.deliver()
            }
            ledgers.append(try await h.ledger(po.id).map { "\($0.kind) derived \($0.derived) posted \($0.posted) review \($0.inReview) open \($0.open)" })
            trytonYields.append(try h.trytonTotals(po.id).yield)
        }
        #expect(ledgers[0] == ledgers[1] && ledgers[1] == ledgers[2])
        let expected = (0..<60).map { Double($0 % 7 + 1) }.reduce(0, +)
        #expect(ledgers[0] == ["yield derived \(expected) posted \(expected) review 0.0 open 0.0"])
        #expect(trytonYields == [expected, expected, expected])
    }

    // 5. An edge clock 7 minutes fast around an order changeover.
    @Test func anEdgeClockSevenMinutesFastIsCorrectedAtAChangeover() async throws {
        let h = try await SyncHarness()
        let a = try h.tryton.createProduction(reference: "PO-SKEW-A", quantity: 100)
        let b = try h.tryton.createProduction(reference: "PO-SKEW-B", quantity: 100)
        try await h.importERP()
        let changeover = Self.bucket(-60) + .seconds(420)  // mid-bucket
        try await h.mes("PO-SKEW-A", .start, at: changeover - .seconds(3600))
        try await h.mes("PO-SKEW-B", .start, at: changeover)
        let fast = Millis.seconds(420)
        // Live events, one a minute, 20 before and 20 after the changeover; the edge stamps them 7 min ahead.
        for m in -20..<20 {
            let from = changeover + .seconds(Int64(m) * 60), to = changeover + .seconds(Int64(m + 1) * 60)
            try await h.send([h.count(1, from: from, to: to, skew: fast)], receivedAt: to + .seconds(1))
        }
        try await h.reconcile()
        try await h.deliver()
        #expect(try h.trytonTotals(a.id).yield == 20)
        #expect(try h.trytonTotals(b.id).yield == 20)
        let now = Timestamp.now()
        for p in try await h.store.postings() {
            let f = PayloadTemplate.fields(p.payload)
            let eventTime = (f["event_time"] as? String).flatMap(Timestamp.init(rfc3339:))
            #expect(eventTime.map { $0 <= now } == true, "no future-dated ERP move: \(p.payload)")
            #expect((f["posting_date"] as? String ?? "9999") <= String(now.rfc3339.prefix(10)))
        }
    }

    // 6. Events straddling a changeover split by the assignment's valid time.
    @Test func aCountStraddlingAChangeoverIsSplitByValidTime() async throws {
        let h = try await SyncHarness()
        let a = try h.tryton.createProduction(reference: "PO-SPLIT-A", quantity: 100)
        let b = try h.tryton.createProduction(reference: "PO-SPLIT-B", quantity: 100)
        try await h.importERP()
        let changeover = Self.bucket(-60) + .seconds(600)
        try await h.mes("PO-SPLIT-A", .start, at: changeover - .seconds(1800))
        try await h.mes("PO-SPLIT-A", .stop, at: changeover)
        try await h.mes("PO-SPLIT-B", .start, at: changeover)
        // 15 parts counted over [changeover - 10 min, changeover + 5 min]: 10 to A, 5 to B.
        try await h.send([h.count(15, from: changeover - .seconds(600), to: changeover + .seconds(300))])
        try await h.reconcile()
        try await h.deliver()
        #expect(try h.trytonTotals(a.id).yield == 10)
        #expect(try h.trytonTotals(b.id).yield == 5)
    }

    // 7. The ERP rejects a posting; retries; dead letter; an operator fixes the payload and replays.
    @Test func aRejectedPostingIsDeadLetteredThenFixedAndReplayedExactlyOnce() async throws {
        let h = try await SyncHarness()
        let po = try h.tryton.createProduction(reference: "PO-REJECT", quantity: 100)
        try await h.importERP()
        // After the import, someone archives the scrap location in Tryton: scrap moves to it are refused.
        // The central's own user (groups Production and Stock) may not do that; an administrator may.
        let central = h.runtime.tryton!
        let centralContext = try await central.context()
        await #expect(throws: TrytonError.self, "the central's least-privilege user cannot change a location") {
            _ = try await central.call("model.stock.location.write", [[10], ["active": false], centralContext])
        }
        let admin = TrytonClient(config: SyncConfiguration.Tryton(url: h.tryton.url, database: TrytonServer.database, user: "admin",
                                                                   password: TrytonServer.password, timeout: Millis(10_000)),
                                 logger: Logger(label: "tryton-admin"))
        let ctx = try await admin.context()
        _ = try await admin.call("model.stock.location.write", [[10], ["active": false], ctx])
        let t0 = Self.bucket(-60)
        try await h.mes("PO-REJECT", .start, at: t0)
        try await h.send(Self.perMinute(h, from: t0, minutes: 5, signal: "rejects"))
        try await h.reconcile()
        try await h.deliver()
        let dead = try await h.store.postings(status: .dead)
        #expect(dead.count == 1)
        #expect(dead.first?.attempts == 3)
        #expect(dead.first?.lastError?.contains("To Location") == true, "Tryton's reason is kept: \(dead.first?.lastError ?? "")")
        #expect(try h.trytonTotals(po.id).keys.isEmpty)
        // Reconciling again does not post the same quantity a second time while it sits in the dead letters.
        try await h.reconcile()
        #expect(try await h.store.postings().count == 1)

        // The operator points the scrap at Lost and Found (4) and replays.
        guard let posting = dead.first else { return }
        var payload = PayloadTemplate.fields(posting.payload)
        // A first try misspells the field: refused with the field named, and nothing stored changes.
        var typo = payload
        typo["to_location"] = 4
        typo["to_location_id"] = nil
        let auditBefore = try await h.store.audit(postingID: posting.id)
        do {
            _ = try await h.store.replay(id: posting.id, payload: String(decoding: try JSONSerialization.data(withJSONObject: typo), as: UTF8.self),
                                         operator: "alice", now: .now())
            Issue.record("a payload without to_location_id was accepted")
        } catch let refusal as PostingRefusal {
            #expect(refusal.description.contains(#"unknown field "to_location""#), "\(refusal)")
        }
        let unchanged = try #require(try await h.store.posting(id: posting.id))
        #expect(unchanged.status == .dead && unchanged.payload == posting.payload)
        #expect(try await h.store.audit(postingID: posting.id) == auditBefore, "a refused edit leaves no audit entry")
        payload["to_location_id"] = 4
        let edited = String(decoding: try JSONSerialization.data(withJSONObject: payload, options: [.sortedKeys]), as: UTF8.self)
        let replayed = try await h.store.replay(id: posting.id, payload: edited, operator: "alice", now: .now())
        #expect(replayed.status == .pending && replayed.idempotencyKey == posting.idempotencyKey)
        try await h.deliver()
        // Replaying again after it was acknowledged is refused: nothing to replay.
        await #expect(throws: PostingRefusal.self) { try await h.store.replay(id: posting.id, payload: nil, operator: "alice", now: .now()) }
        try await h.reconcile()
        try await h.deliver()

        let moves = try h.tryton.moves(po.id).outputs.filter { ($0["millwright_key"] as? String) == posting.idempotencyKey }
        #expect(moves.count == 1, "exactly one posting in Tryton")
        #expect((moves.first?["quantity"] as? NSNumber)?.doubleValue == 5)
        #expect(try await h.store.postings().count == 1)
        let audit = try await h.store.audit(postingID: posting.id).map { "\($0.actor) \($0.action)" }
        #expect(audit.contains("millwright dead-lettered") && audit.contains("alice payload-edited") && audit.contains("alice replayed")
                && audit.contains("millwright acked"))
        let ledger = try await h.ledger(po.id).first { $0.kind == "scrap" }
        #expect(ledger.map { $0.derived == 5 && $0.posted == 5 && $0.isBalanced } == true)
    }

    // 8. Consumption learned after the production started.
    @Test func consumptionLearnedLateBecomesACorrectionMoveAndTotalsReconcile() async throws {
        let h = try await SyncHarness()
        let po = try h.tryton.createProduction(reference: "PO-CONS", quantity: 100)
        try await h.importERP()
        let planned = try h.trytonTotals(po.id).allInputs
        #expect(planned == 100, "the BOM plans 1 STEEL per WIDGET")
        let t0 = Self.bucket(-120)
        try await h.mes("PO-CONS", .start, at: t0)
        // The first hour's consumption is within plan: nothing to correct.
        try await h.send(Self.perMinute(h, from: t0, minutes: 60, signal: "steel-feed"))
        try await h.reconcile()
        try await h.deliver()
        #expect(try await h.store.postings().isEmpty)
        // More is consumed than planned: one correction move for the excess.
        try await h.send(Self.perMinute(h, from: t0 + .seconds(3600), minutes: 44, signal: "steel-feed"))
        try await h.reconcile()
        try await h.deliver()
        #expect(try h.trytonTotals(po.id).keyedInputs == 4)
        // Consumption from the first hour arrives late (buffered): a further correction.
        try await h.send([h.count(3, signal: "steel-feed", from: t0, to: t0 + .seconds(60), historical: true)], receivedAt: .now())
        try await h.reconcile()
        try await h.deliver()
        let totals = try h.trytonTotals(po.id)
        #expect(totals.keyedInputs == 7)
        #expect(totals.allInputs == 107)
        let ledger = try await h.ledger(po.id).first { $0.kind == "consumption" }
        #expect(ledger.map { $0.derived == 107 && $0.posted == 107 && $0.open == 0 } == true)
    }
}
