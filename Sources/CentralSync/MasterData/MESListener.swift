import Foundation
import Logging
import MillwrightCore
import MQTTClient
import Reconciliation
import ServiceLifecycle
import Synchronization

/// Records order starts and stops the MES publishes at the plant:
/// `{"equipment": "press-1", "order": "PO-1001", "operation": "Press", "action": "start", "at": "2026-11-24T08:00:00Z"}`.
/// `order` is the ERP order's reference or number. Malformed messages are counted and logged, never
/// guessed; a change is acknowledged to the broker only once recorded (`MQTTIntake`).
public final class MESListener: Service, MQTTIntakeHandler {
    let options: MQTTConnectionOptions
    let topic: String
    let store: any MasterDataStore
    let logger: Logger
    let counters = Mutex((recorded: 0, duplicates: 0, malformed: 0))

    public struct Change: Sendable {
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
        try await MQTTIntake(options: options, name: "mes", topic: topic, handler: self, logger: logger).run()
    }

    public func decode(_ m: MQTTMessage) -> Change? {
        guard m.payload.count <= 16 * 1024, let msg = try? JSONDecoder().decode(Message.self, from: Data(m.payload)),
              let action = AssignmentChange.Action(rawValue: msg.action), let at = Timestamp(rfc3339: msg.at),
              [msg.equipment, msg.order].allSatisfy({ IntakeText.isAcceptable($0, max: 200) }),
              IntakeText.isAcceptable(msg.operation ?? "", max: 200, allowEmpty: true) else {
            counters.withLock { $0.malformed += 1 }
            logger.warning("malformed MES message ignored: expected {equipment, order, action: start|stop, at: RFC 3339}, texts of at most 200 printable characters",
                           metadata: ["topic": "\(m.topic.prefix(200))", "payload": "\(String(decoding: m.payload.prefix(200), as: UTF8.self))"])
            return nil
        }
        return Change(equipment: msg.equipment, order: msg.order, operation: msg.operation ?? "", action: action, at: at)
    }

    public func take(_ c: Change) async throws {
        let new = try await store.recordAssignmentChange(equipment: c.equipment, orderRef: c.order, operation: c.operation,
                                                         action: c.action, at: c.at, source: .mes, now: .now())
        counters.withLock { if new { $0.recorded += 1 } else { $0.duplicates += 1 } }
    }
}
