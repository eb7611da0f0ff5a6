import MillwrightCore
import Testing
@testable import Reconciliation

func t(_ s: String) -> Timestamp { Timestamp(rfc3339: "2026-11-24T\(s)Z")! }
func key(_ seq: Int64) -> EventKey { EventKey(edge: "gw-1", bootEpoch: 1, seq: seq) }

@Suite struct AssignmentTimelineTests {
    @Test func changeoverClosesTheOldOrderWhateverTheArrivalOrder() {
        let changes = [
            AssignmentChange(equipment: "press-1", orderID: 1, action: .start, at: t("08:00:00")),
            AssignmentChange(equipment: "press-1", orderID: 2, action: .start, at: t("10:00:00")),
            AssignmentChange(equipment: "press-1", orderID: 2, action: .stop, at: t("12:00:00")),
        ]
        let expected = AssignmentTimeline.build(changes)
        #expect(expected.count == 2)
        #expect(expected[0].orderID == 1 && expected[0].to == t("10:00:00"))
        #expect(expected[1].orderID == 2 && expected[1].from == t("10:00:00") && expected[1].to == t("12:00:00"))
        #expect(AssignmentTimeline.build(changes.reversed()) == expected)
    }

    @Test func aStaleStopOfAnotherOrderIsIgnored() {
        let a = AssignmentTimeline.build([
            AssignmentChange(equipment: "e", orderID: 2, action: .start, at: t("10:00:00")),
            AssignmentChange(equipment: "e", orderID: 1, action: .stop, at: t("10:05:00")),
        ])
        #expect(a.count == 1 && a[0].orderID == 2 && a[0].to == nil)
    }
}

@Suite struct AttributionTests {
    let assignments = [
        Assignment(equipment: "press-1", orderID: 1, from: t("08:00:00"), to: t("10:00:00"), source: .mes),
        Assignment(equipment: "press-1", orderID: 2, from: t("10:00:00"), to: nil, source: .mes),
    ]

    @Test func aCountStraddlingAChangeoverSplitsByOverlapAndKeepsWholeUnits() {
        let o = Observation(key: key(1), equipment: "press-1", kind: .yield, quantity: 10, from: t("09:50:00"), to: t("10:05:00"))
        let shares = Attribution.split(o, over: assignments)
        #expect(shares.map(\.assignment?.orderID) == [1, 2])
        // 10 minutes vs 5 minutes of 15: 6.67 -> 7 and 3.33 -> 3, adding up to 10.
        #expect(shares.map(\.quantity) == [7, 3])
    }

    @Test func timeNoAssignmentCoversIsUnattributedNotGuessed() {
        let o = Observation(key: key(1), equipment: "press-1", kind: .yield, quantity: 4, from: t("07:50:00"), to: t("08:10:00"))
        let shares = Attribution.split(o, over: assignments)
        #expect(shares.first { $0.assignment == nil }?.quantity == 2)
        #expect(shares.first { $0.assignment?.orderID == 1 }?.quantity == 2)
    }

    @Test func apportionAlwaysAddsUp() {
        for total in [0.0, 1, 7, 10, 99, 1001] {
            let parts = Attribution.apportion(total, weights: [0.2, 0.3, 0.5])
            #expect(parts.reduce(0, +) == total)
            #expect(parts.allSatisfy { $0 == $0.rounded() })
        }
    }
}

@Suite struct ReconcilerDecisionTests {
    let r = Reconciler(policy: .init(cadence: .every(.seconds(900)), grace: .seconds(60)))
    let a = [Assignment(equipment: "press-1", orderID: 1, workID: 11, from: t("08:00:00"), to: nil, source: .mes)]

    func obs(_ seq: Int64, _ q: Double, _ from: String, _ to: String) -> Observation {
        Observation(key: key(seq), equipment: "press-1", kind: .yield, quantity: q, from: t(from), to: t(to))
    }

    @Test func aBucketIsPostedOnlyAfterItsGraceAndLateDataBecomesACorrection() {
        let first = [obs(1, 5, "08:00:00", "08:05:00"), obs(2, 5, "08:05:00", "08:10:00")]
        let (lines, _) = r.derive(first, assignments: a)
        #expect(r.decide(lines: lines, posted: [:], postedSources: [:], orders: [1: .init(closed: false)], orderEnded: [:], now: t("08:15:30"))
            .allSatisfy { if case .post = $0 { return false } else { return true } })
        let due = r.decide(lines: lines, posted: [:], postedSources: [:], orders: [1: .init(closed: false)], orderEnded: [:], now: t("08:16:30"))
        guard case .post(let line, let q, let date, let sources)? = due.first else { Issue.record("expected a posting"); return }
        #expect(q == 10 && sources == [key(1), key(2)] && date <= t("08:16:30"))
        // A late event for the same bucket: only the difference is posted, citing only the new event.
        let (later, _) = r.derive(first + [obs(3, 2, "08:10:00", "08:12:00")], assignments: a)
        let again = r.decide(lines: later, posted: [line: 10], postedSources: [line: [key(1), key(2)]], orders: [1: .init(closed: false)],
                             orderEnded: [:], now: t("09:00:00"))
        guard case .post(_, let q2, _, let s2)? = again.first else { Issue.record("expected a correction"); return }
        #expect(q2 == 2 && s2 == [key(3)])
    }

    @Test func aClosedOrderGetsAReviewItemAndNoPosting() {
        let (lines, _) = r.derive([obs(1, 8, "08:00:00", "08:05:00")], assignments: a)
        let d = r.decide(lines: lines, posted: [:], postedSources: [:], orders: [1: .init(closed: true)], orderEnded: [:], now: t("12:00:00"))
        #expect(d.count == 1)
        guard case .review(_, let q, let reason) = d[0] else { Issue.record("expected a review item"); return }
        #expect(q == 8 && reason.contains("closed"))
    }

    @Test func consumptionIsCorrectedAgainstThePlan() {
        let cons = [Observation(key: key(1), equipment: "press-1", kind: .consumption, material: "STEEL", quantity: 104,
                                from: t("08:00:00"), to: t("09:00:00"))]
        let (lines, _) = r.derive(cons, assignments: a)
        let d = r.decide(lines: lines, posted: [:], postedSources: [:], orders: [1: .init(closed: false, plannedInputs: ["STEEL": 100])],
                         orderEnded: [:], now: t("10:00:00"))
        guard case .post(let line, let q, _, _)? = d.first else { Issue.record("expected a correction move"); return }
        #expect(q == 4 && line.material == "STEEL" && line.kind == .consumption)
    }

    @Test func anOrderThatStillRunsSomewhereHasNotEnded() {
        let a = [
            Assignment(equipment: "press-1", orderID: 1, from: t("08:00:00"), to: nil, source: .mes),
            Assignment(equipment: "press-2", orderID: 1, from: t("08:00:00"), to: t("09:00:00"), source: .mes),
            Assignment(equipment: "press-1", orderID: 2, from: t("06:00:00"), to: t("07:00:00"), source: .mes),
            Assignment(equipment: "press-2", orderID: 2, from: t("06:00:00"), to: t("07:30:00"), source: .mes),
        ]
        let ends = Reconciler.orderEnds(a)
        #expect(ends.keys.contains(1) && ends[1]! == nil)
        #expect(ends[2]! == t("07:30:00"))
        // Whatever the order of the assignments.
        #expect(Reconciler.orderEnds(a.reversed()) == ends)
    }

    @Test func theSameEventsInAnyOrderDeriveTheSameLines() {
        var events: [Observation] = []
        for i in 0..<60 { events.append(obs(Int64(i), Double(i % 7), "08:\(String(format: "%02d", i)):00", "08:\(String(format: "%02d", i)):30")) }
        let (reference, _) = r.derive(events, assignments: a)
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<10 {
            let (shuffled, _) = r.derive(events.shuffled(using: &rng), assignments: a)
            #expect(shuffled == reference)
        }
    }
}
