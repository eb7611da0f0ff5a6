import CentralSync
import Foundation
import Logging
import MillwrightCore
import MQTTClient
import TestSupport
import Testing

/// A posting published to a plant's MQTT namespace is delivered when the broker acknowledged it
/// (PUBACK), not when it was queued: with the broker frozen (SIGSTOP) the attempt fails within
/// `postings.timeout` and is retried, and the retry after the broker is back is delivered. A real
/// mosquitto and a real subscriber.
@Suite struct MQTTPublishConnectorTests {
    func posting(_ n: Int) -> Posting {
        Posting(id: Int64(n), idempotencyKey: "escalation:gw-1:1:\(n)", target: "uns", kind: .escalation, line: "", orderID: nil, quantity: 0,
                payload: #"{"site":"plant-a","equipment":"press-\#(n)","key":"escalation:gw-1:1:\#(n)"}"#, sources: [], status: .pending,
                attempts: 0, nextAttemptAt: .now(), documentRef: nil, lastError: nil, createdAt: .now(), updatedAt: .now())
    }

    @Test func deliveredOnlyOnceTheBrokerAcknowledged() async throws {
        let broker = try MosquittoBroker()
        defer {
            broker.signal(SIGCONT)
            broker.stop()
        }
        let work = try TemporaryDirectory.make(prefix: "uns")
        let received = work.appendingPathComponent("uns.log").path
        let sub = try ChildProcess(try Executables.locate("mosquitto_sub"), ["-p", "\(broker.port)", "-t", "plant/#", "-v", "-q", "1"],
                                   outputFile: received)
        defer { sub.terminate(grace: 1) }
        #expect(await eventuallyAsync(timeout: 30) { broker.subscriptions() > 0 })
        let options = MQTTConnectionOptions(port: broker.port, clientID: "central-uns", reconnect: .init(initial: 0.1, maximum: 0.3))
        let connector = try MQTTPublishConnector(options: options, topic: "plant/{site}/{equipment}/escalations", template: nil,
                                                 timeout: .seconds(2), logger: Logger(label: "uns"))
        // Connected: delivered, and the subscriber has it.
        let first = try #require(try await firstValue(every: .milliseconds(200)) { () async -> DeliveryOutcome? in
            let o = await connector.deliver(posting(1))
            if case .delivered = o { return o }
            return nil
        })
        #expect(first == .delivered(documentRef: "mqtt:plant/plant-a/press-1/escalations#escalation:gw-1:1:1", note: "published, acknowledged by the broker"))
        #expect(eventually { ((try? String(contentsOfFile: received, encoding: .utf8)) ?? "").contains("plant/plant-a/press-1/escalations") })

        // The broker frozen: the publish is queued but never acknowledged, so the attempt fails.
        try #require(broker.freeze())
        let frozen = await connector.deliver(posting(2))
        guard case .failed(let reason) = frozen else {
            Issue.record("delivered without the broker's acknowledgement: \(frozen)")
            return
        }
        #expect(reason.contains("did not acknowledge"))

        // Back: the retry (same key) is delivered, and the subscriber has the posting.
        broker.signal(SIGCONT)
        let retried = try await firstValue(every: .milliseconds(200)) { () async -> DeliveryOutcome? in
            let o = await connector.deliver(posting(2))
            if case .delivered = o { return o }
            return nil
        }
        #expect(retried != nil)
        #expect(eventually { ((try? String(contentsOfFile: received, encoding: .utf8)) ?? "").contains("plant/plant-a/press-2/escalations") })
        await connector.stop()
    }
}
