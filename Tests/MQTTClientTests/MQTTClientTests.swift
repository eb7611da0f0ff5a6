import Foundation
import Synchronization
import Testing
@testable import MQTTClient
import TestSupport

final class Received: Sendable {
    let messages = Mutex<[MQTTMessage]>([])
    let events = Mutex<[MQTTConnectionEvent]>([])
    var count: Int { messages.withLock { $0.count } }
    var connects: Int { events.withLock { $0.filter { if case .connected = $0 { true } else { false } }.count } }
}

@Suite("MQTT client against a real mosquitto", .serialized)
struct MQTTClientTests {
    func client(_ broker: MosquittoBroker, _ received: Received, id: String = "t-\(UUID().uuidString.prefix(6))",
                version: MQTTConnectionOptions.ProtocolVersion = .v311, cleanStart: Bool = true) throws -> MQTTClient {
        try MQTTClient(
            options: .init(port: broker.port, clientID: id, protocolVersion: version, cleanStart: cleanStart,
                           reconnect: .init(initial: 0.1, maximum: 0.5)),
            onMessage: { m in received.messages.withLock { $0.append(m) } },
            onConnectionChange: { e in received.events.withLock { $0.append(e) } })
    }

    @Test(arguments: [MQTTConnectionOptions.ProtocolVersion.v311, .v5])
    func subscribesAndReceivesCopiedPayloads(version: MQTTConnectionOptions.ProtocolVersion) throws {
        let broker = try MosquittoBroker()
        defer { broker.stop() }
        let received = Received()
        let c = try client(broker, received, version: version)
        try c.subscribe("plant/+/temp", qos: 1)
        c.start()
        defer { c.stopBlocking() }
        #expect(eventually { c.isConnected })
        // Publish with the independent mosquitto_pub client once the broker granted the subscription.
        #expect(broker.waitForSubscriptions(moreThan: 0))
        for i in 0..<20 {
            try Executables.run("mosquitto_pub", ["-p", "\(broker.port)", "-t", "plant/m\(i)/temp", "-q", "1", "-m", "{\"v\":\(i)}"])
        }
        try Executables.run("mosquitto_pub", ["-p", "\(broker.port)", "-t", "other/topic", "-m", "x"])
        #expect(eventually { received.count == 20 })
        let msgs = received.messages.withLock { $0 }
        #expect(msgs.map(\.topic) == (0..<20).map { "plant/m\($0)/temp" })
        #expect(msgs.last.map { String(decoding: $0.payload, as: UTF8.self) } == "{\"v\":19}")
    }

    @Test func reconnectsAfterBrokerRestartAndResubscribes() throws {
        let broker = try MosquittoBroker()
        defer { broker.stop() }
        let received = Received()
        let c = try client(broker, received)
        try c.subscribe("a/#", qos: 0)
        c.start()
        defer { c.stopBlocking() }
        #expect(eventually { c.isConnected })
        broker.kill()
        #expect(eventually { !c.isConnected })
        usleep(600_000)
        try broker.start()
        #expect(eventually(timeout: 60) { received.connects >= 2 })
        #expect(broker.waitForSubscriptions(moreThan: 0), "resubscribed after the restart")
        try Executables.run("mosquitto_pub", ["-p", "\(broker.port)", "-t", "a/b", "-m", "after-restart"])
        #expect(eventually { received.count == 1 })
        let failures = received.events.withLock { $0.filter { if case .connectFailed = $0 { true } else { false } } }
        #expect(!failures.isEmpty, "the broker was down for 0.6 s: at least one attempt must have failed")
    }

    @Test func persistentSessionReceivesQoS1MessagesSentWhileAway() throws {
        let broker = try MosquittoBroker()
        defer { broker.stop() }
        let id = "persistent-\(UUID().uuidString.prefix(6))"
        let first = Received()
        var c: MQTTClient? = try client(broker, first, id: id, version: .v5, cleanStart: false)
        try c?.subscribe("queue/#", qos: 1)
        c?.start()
        #expect(eventually { c?.isConnected == true })
        #expect(broker.waitForSubscriptions(moreThan: 0))
        c?.stopBlocking()
        c = nil
        for i in 0..<5 {
            try Executables.run("mosquitto_pub", ["-p", "\(broker.port)", "-t", "queue/x", "-q", "1", "-m", "m\(i)"])
        }
        let second = Received()
        let c2 = try client(broker, second, id: id, version: .v5, cleanStart: false)
        c2.start()
        defer { c2.stopBlocking() }
        #expect(eventually { second.count == 5 })
        #expect(second.events.withLock { $0.contains(.connected(sessionPresent: true)) })
    }

    @Test func rejectsInvalidOptionsWithAClearError() {
        #expect(throws: MQTTError.invalidOptions("port 70000 is not in 1...65535")) {
            _ = try MQTTClient(options: .init(port: 70000, clientID: "x"), onMessage: { _ in })
        }
        #expect(throws: MQTTError.self) {
            _ = try MQTTClient(options: .init(clientID: "", cleanStart: false), onMessage: { _ in })
        }
    }

    @Test func backoffGrowsExponentiallyWithinJitterAndCaps() {
        var b = ReconnectBackoff(policy: .init(initial: 1, maximum: 8, jitter: 0.5))
        let delays = (0..<6).map { _ in b.nextDelay(unit: 0) }
        #expect(delays == [1, 2, 4, 8, 8, 8])
        var j = ReconnectBackoff(policy: .init(initial: 1, maximum: 8, jitter: 0.5))
        #expect(j.nextDelay(unit: 0.999) > 0.5 && j.nextDelay(unit: 0.999) < 1.01)
        b.reset()
        #expect(b.nextDelay(unit: 0) == 1)
    }
}
