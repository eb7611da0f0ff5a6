import CentralSync
import Foundation
import MillwrightCore
import MQTTClient
import Synchronization
import Testing
import TestSupport

/// An intake acknowledges a message to the broker only once its handler recorded it: stopped while
/// the store fails, the message is delivered again to the next start instead of being lost.
@Suite struct MQTTIntakeTests {
    final class Recorder: MQTTIntakeHandler {
        let failing: Bool
        let attempts = Mutex(0)
        let recorded = Mutex<[String]>([])
        init(failing: Bool) { self.failing = failing }
        func decode(_ message: MQTTMessage) -> String? {
            let text = String(decoding: message.payload, as: UTF8.self)
            return text == "refuse me" ? nil : text
        }
        func take(_ item: String) async throws {
            attempts.withLock { $0 += 1 }
            if failing { throw IntakeStoreError("the store is down (test)") }
            recorded.withLock { $0.append(item) }
        }
    }

    @Test func aMessageIsAcknowledgedOnlyOnceRecorded() async throws {
        let broker = try MosquittoBroker()
        try broker.start()
        defer { broker.stop() }
        let options = MQTTConnectionOptions(port: broker.port, clientID: "intake-test", cleanStart: false)
        let down = Recorder(failing: true)
        let first = Task { try await MQTTIntake(options: options, name: "t", topic: "t/+", handler: down, logger: .init(label: "t")).run() }
        #expect(await eventuallyAsync(timeout: 180) { broker.subscriptions() > 0 }, "subscribed (a generous wait: at the start of a full run its task may wait long for a thread)")
        let pub = try Executables.run("mosquitto_pub", ["-p", "\(broker.port)", "-q", "1", "-t", "t/a", "-m", "confirmation 1"])
        #expect(pub.status == 0)
        #expect(await eventuallyAsync(timeout: 60) { down.attempts.withLock { $0 } >= 1 }, "the handler was tried")
        first.cancel()
        _ = try? await first.value

        let up = Recorder(failing: false)
        let second = Task { try await MQTTIntake(options: options, name: "t", topic: "t/+", handler: up, logger: .init(label: "t")).run() }
        defer { second.cancel() }
        #expect(await eventuallyAsync(timeout: 60) { up.recorded.withLock { $0 } == ["confirmation 1"] },
                "redelivered from the session: it was never acknowledged")
        // A refused message is acknowledged (it would be refused again) and does not hold later ones.
        _ = try Executables.run("mosquitto_pub", ["-p", "\(broker.port)", "-q", "1", "-t", "t/a", "-m", "refuse me"])
        _ = try Executables.run("mosquitto_pub", ["-p", "\(broker.port)", "-q", "1", "-t", "t/a", "-m", "confirmation 2"])
        #expect(await eventuallyAsync(timeout: 60) { up.recorded.withLock { $0 } == ["confirmation 1", "confirmation 2"] })
    }
}
