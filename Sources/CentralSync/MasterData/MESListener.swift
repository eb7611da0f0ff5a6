import Foundation
import Logging
import MillwrightCore
import MQTTClient
import Reconciliation
import ServiceLifecycle
import Synchronization

/// Records order starts and stops the MES publishes at the plant:
/// `{"equipment": "press-1", "order": "PO-1001", "operation": "Press", "action": "start", "at": "2026-11-24T08:00:00Z"}`.
/// `order` is the ERP order's reference or number. Malformed messages are counted and logged, never guessed.
public final class MESListener: Service {
    let options: MQTTConnectionOptions
    let topic: String
    let store: any MasterDataStore
    let logger: Logger
    let counters = Mutex((recorded: 0, duplicates: 0, malformed: 0))
    /// Decoded changes, from the MQTT thread to the task that records them (in arrival order).
    let changes: AsyncStream<Change>
    let sink: AsyncStream<Change>.Continuation

    struct Change: Sendable {
        var equipment: String
        var order: String
        var operation: String
        var action: AssignmentChange.Action
        var at: Timestamp
    }

    public init(options: MQTTConnectionOptions, topic: String, store: any MasterDataStore, logger: Logger) {
        self.options = options
        self.topic = topic
        self.store = store
        self.logger = logger
        (changes, sink) = AsyncStream.makeStream(of: Change.self)
    }

    public var stats: (recorded: Int, duplicates: Int, malformed: Int) { counters.withLock { $0 } }

    struct Message: Decodable {
        var equipment: String
        var order: String
        var operation: String?
        var action: String
        var at: String
    }

    public func run() async throws {
        var o = options
        o.clientID += "-mes"
        let client = try MQTTClient(options: o, logger: logger, onMessage: { [weak self] m in self?.handle(m) })
        try client.subscribe(topic, qos: 1)
        client.start()
        // Records until graceful shutdown or cancellation; either way the client stops.
        await withGracefulShutdownHandler {
            for await change in changes { await record(change) }
        } onGracefulShutdown: {
            self.sink.finish()
        }
        await client.stop()
    }

    func handle(_ m: MQTTMessage) {
        guard let msg = try? JSONDecoder().decode(Message.self, from: Data(m.payload)),
              let action = AssignmentChange.Action(rawValue: msg.action), let at = Timestamp(rfc3339: msg.at) else {
            counters.withLock { $0.malformed += 1 }
            logger.warning("malformed MES message ignored: expected {equipment, order, action: start|stop, at: RFC 3339}",
                           metadata: ["topic": "\(m.topic)", "payload": "\(String(decoding: m.payload.prefix(200), as: UTF8.self))"])
            return
        }
        sink.yield(Change(equipment: msg.equipment, order: msg.order, operation: msg.operation ?? "", action: action, at: at))
    }

    func record(_ c: Change) async {
        do {
            let new = try await store.recordAssignmentChange(equipment: c.equipment, orderRef: c.order, operation: c.operation,
                                                             action: c.action, at: c.at, source: .mes, now: .now())
            counters.withLock { if new { $0.recorded += 1 } else { $0.duplicates += 1 } }
        } catch {
            logger.error("cannot record an MES assignment change", metadata: ["error": "\(error)"])
        }
    }
}
