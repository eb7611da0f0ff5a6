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
    let store: SyncStore
    let logger: Logger
    let counters = Mutex((recorded: 0, duplicates: 0, malformed: 0))

    public init(options: MQTTConnectionOptions, topic: String, store: SyncStore, logger: Logger) {
        self.options = options
        self.topic = topic
        self.store = store
        self.logger = logger
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
        // Returns on graceful shutdown, throws on cancellation: either way the client stops.
        try? await gracefulShutdown()
        client.stop()
    }

    func handle(_ m: MQTTMessage) {
        guard let msg = try? JSONDecoder().decode(Message.self, from: Data(m.payload)),
              let action = AssignmentChange.Action(rawValue: msg.action), let at = Timestamp(rfc3339: msg.at) else {
            counters.withLock { $0.malformed += 1 }
            logger.warning("malformed MES message ignored: expected {equipment, order, action: start|stop, at: RFC 3339}",
                           metadata: ["topic": "\(m.topic)", "payload": "\(String(decoding: m.payload.prefix(200), as: UTF8.self))"])
            return
        }
        do {
            let new = try store.recordAssignmentChange(equipment: msg.equipment, orderRef: msg.order, operation: msg.operation ?? "",
                                                       action: action, at: at, source: "mes", now: .now())
            counters.withLock { if new { $0.recorded += 1 } else { $0.duplicates += 1 } }
        } catch {
            logger.error("cannot record an MES assignment change", metadata: ["error": "\(error)"])
        }
    }
}
