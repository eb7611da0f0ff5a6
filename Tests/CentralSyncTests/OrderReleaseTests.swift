import CentralSync
import Foundation
import MillwrightCore
import Testing
import TestSupport

/// The ERP -> MES leg of the round trip, against a real Tryton and a real mosquitto: a production
/// released in Tryton reaches the MES of its equipment as a retained, versioned message; a quantity
/// change is the next version, an unchanged pass sends nothing, a cancellation is a version too;
/// the MES's answers (over MQTT) confirm a version or make it a dead letter with the MES's reason,
/// and answers that name nothing awaiting one change nothing and are counted; a delivered version
/// nobody answered within `mes.answer_within` is overdue.
@Suite(.serialized) struct OrderReleaseTests {
    /// The retained message a subscriber arriving now gets on `topic` (what an MES that starts later sees).
    func retained(_ port: Int, _ topic: String) throws -> OrderReleasePayload? {
        let r = try Executables.run("mosquitto_sub", ["-p", "\(port)", "-t", topic, "-C", "1", "-W", "5", "-q", "1"])
        guard r.status == 0 else { return nil }
        return try OrderReleasePayload.decode(r.output.trimmingCharacters(in: .whitespacesAndNewlines), as: .orderRelease)
    }

    func answer(_ port: Int, _ json: String) throws {
        let r = try Executables.run("mosquitto_pub", ["-p", "\(port)", "-q", "1", "-t", "mes/answers/press-1", "-m", json])
        #expect(r.status == 0, "\(r.output)")
    }

    @Test func releasedOrdersReachTheMESVersionedAndItsAnswersAreRecorded() async throws {
        let broker = try MosquittoBroker()
        try broker.start()
        defer { broker.stop() }
        let h = try await SyncHarness(brokerPort: broker.port, extra: """
            mes: { answers: "mes/answers/+", answer_within: 2s }
            targets:
              mes-orders: { kind: mqtt, topic: "plant/{equipment}/orders/{order_number}", retain: true }
            routes: { order_release: mes-orders }
            """)
        let listener = try #require(h.runtime.answers)
        let answers = Task { try await listener.run() }
        defer { answers.cancel() }
        // Waited for without blocking a thread: the listener's task needs one to subscribe.
        #expect(await eventuallyAsync(timeout: 120) { broker.subscriptions() > 0 }, "the answer listener subscribed")

        // Released (waiting) in Tryton: version 1 to press-1, retained.
        let po = try h.tryton.createProduction(reference: "PO-REL", quantity: 100, state: "waiting")
        try await h.importERP()
        try await h.reconcile()
        try await h.deliver()
        let topic = "plant/press-1/orders/\(po.number)"
        let v1 = try #require(try retained(broker.port, topic))
        #expect(v1.version == 1 && v1.status == .released && v1.orderID == po.id && v1.orderReference == "PO-REL")
        #expect(v1.material.code == "WIDGET" && v1.material.quantity == 100)
        #expect(!v1.materials.isEmpty, "the bill of materials' planned inputs")
        #expect(v1.operations.contains { $0.equipment == ["press-1"] })

        // Nothing changed: nothing sent. The quantity changed: version 2 replaces version 1.
        try await h.importERP()
        try await h.reconcile()
        #expect(try await h.store.postings(status: nil, kind: .orderRelease).count == 1)
        try h.tryton.requantifyProduction(po.id, quantity: 150)
        try await h.importERP()
        try await h.reconcile()
        try await h.deliver()
        let v2 = try #require(try retained(broker.port, topic))
        #expect(v2.version == 2 && v2.material.quantity == 150 && v2.status == .released)

        // The MES accepts version 2: confirmed, audited under its name.
        try answer(broker.port, #"{"key": "\#(v2.key)", "result": "accepted", "reason": "scheduled", "by": "mes-line-1"}"#)
        let confirmed = try await firstValue(timeout: 60) { () async throws -> Posting? in
            try await h.store.posting(key: v2.key).flatMap { $0.status == .confirmed ? $0 : nil }
        }
        let c = try #require(confirmed)
        #expect(try await h.store.audit(postingID: c.id).contains { $0.action == .accepted && $0.actor == "mes-line-1" })
        // The same answer again, an unknown key and a malformed one change nothing; each is counted.
        try answer(broker.port, #"{"key": "\#(v2.key)", "result": "rejected", "reason": "second thoughts"}"#)
        try answer(broker.port, #"{"key": "order_release:999:press-1:v1", "result": "accepted"}"#)
        try answer(broker.port, "not json")
        #expect(await eventuallyAsync(timeout: 60) {
            listener.stats.refused == ["not_awaiting_answer": 1, "unknown_key": 1, "malformed": 1]
        }, "\(listener.stats)")
        #expect(try await h.store.posting(key: v2.key)?.status == .confirmed)

        // Cancelled in Tryton: version 3, cancelled. The MES rejects it: a dead letter with its reason.
        try h.tryton.cancelProduction(po.id)
        try await h.importERP()
        try await h.reconcile()
        try await h.deliver()
        let v3 = try #require(try retained(broker.port, topic))
        #expect(v3.version == 3 && v3.status == .cancelled)
        let overview = ReleaseOverview.make(try await h.store.postings(), answerWithin: .seconds(3600), now: .now())
        #expect(overview.awaitingAnswer == 1 && overview.overdue.isEmpty, "v3 awaits its answer; v1 was replaced")
        #expect(ReleaseOverview.make(try await h.store.postings(), answerWithin: .seconds(2), now: .now() + .seconds(10)).overdue.map(\.key) == [v3.key],
                "unanswered past mes.answer_within: overdue")
        try answer(broker.port, #"{"key": "\#(v3.key)", "result": "rejected", "reason": "already started on the line"}"#)
        let dead = try await firstValue(timeout: 60) { () async throws -> Posting? in
            try await h.store.posting(key: v3.key).flatMap { $0.status == .dead ? $0 : nil }
        }
        #expect(dead?.lastError == "rejected by mes: already started on the line")
        #expect(listener.stats.accepted == 1 && listener.stats.rejected == 1)
    }
}
