import Foundation
import Logging
import MillwrightCore
import MQTTClient
import ServiceLifecycle
import Synchronization

/// Books the MES's confirmations (`MESConfirmation`, on `mes.confirmations`): each is checked,
/// resolved against the imported orders (`ConfirmationPlanner`) and added to the postings outbox
/// as a yield move, a scrap move and a work cycle, which the dispatcher delivers exactly once. A
/// resend of a booked confirmation is counted and changes nothing; a refused one is counted by
/// reason and logged. A message is acknowledged to the broker only once booked or refused.
public final class ConfirmationListener: Service, MQTTIntakeHandler {
    let options: MQTTConnectionOptions
    let topic: String
    let store: any SyncState
    let routes: [PostingKind: String]
    let logger: Logger
    let counters = Mutex(Stats())

    public struct Stats: Sendable, Hashable, Codable {
        /// Confirmations booked (their postings added).
        public var booked = 0
        /// Resends of a booked confirmation (same id, same figures).
        public var duplicates = 0
        /// Refused, by `ConfirmationRefusal.name`.
        public var refused: [String: Int] = [:]
    }

    /// What became of one confirmation.
    public enum Outcome: Sendable, Hashable {
        case booked([String])
        case duplicate
        case refused(ConfirmationRefusal)
    }

    public init(options: MQTTConnectionOptions, topic: String, store: any SyncState, routes: [PostingKind: String], logger: Logger) {
        self.options = options
        self.topic = topic
        self.store = store
        self.routes = routes
        self.logger = logger
    }

    public var stats: Stats { counters.withLock { $0 } }

    public func run() async throws {
        try await MQTTIntake(options: options, name: "confirmations", topic: topic, handler: self, logger: logger).run()
    }

    public func decode(_ m: MQTTMessage) -> MESConfirmation? {
        switch MESConfirmation.decode(m.payload) {
        case .success(let c): return c
        case .failure(let refusal):
            refused(refusal, id: nil)
            return nil
        }
    }

    public func take(_ c: MESConfirmation) async throws {
        _ = try await book(c)
    }

    /// Books one confirmation; throws only when the store failed (nothing was booked then).
    public func book(_ c: MESConfirmation, now: Timestamp = .now()) async throws -> Outcome {
        let planned: [NewPosting]
        switch ConfirmationPlanner.postings(for: c, orders: try await store.orders(), routes: routes) {
        case .success(let p): planned = p
        case .failure(let r):
            refused(r, id: c.id)
            return .refused(r)
        }
        // A resend finds what the first one booked: the same figures are a duplicate, others a
        // conflict (compared by quantity: a payload may have been edited before a replay since).
        var booked: [String: Double] = [:]
        for key in ConfirmationPlanner.keys(c.id).values {
            if let existing = try await store.posting(key: key) { booked[key] = existing.quantity }
        }
        if !booked.isEmpty {
            let wanted = Dictionary(uniqueKeysWithValues: planned.map { ($0.idempotencyKey, $0.quantity) })
            guard wanted == booked else {
                let r = ConfirmationRefusal.conflict(id: c.id)
                refused(r, id: c.id)
                return .refused(r)
            }
            counters.withLock { $0.duplicates += 1 }
            logger.info("MES confirmation sent again: already booked", metadata: ["id": "\(c.id)"])
            return .duplicate
        }
        try await store.apply(postings: planned, now: now)
        counters.withLock { $0.booked += 1 }
        logger.info("MES confirmation booked", metadata: [
            "id": "\(c.id)", "order": "\(c.order)", "operation": "\(c.operation)",
            "postings": "\(planned.map(\.idempotencyKey).joined(separator: ","))"])
        return .booked(planned.map(\.idempotencyKey))
    }

    func refused(_ r: ConfirmationRefusal, id: String?) {
        counters.withLock { $0.refused[r.name, default: 0] += 1 }
        logger.warning("MES confirmation refused: nothing booked", metadata: ["id": "\(id?.prefix(200) ?? "-")", "reason": "\(r)"])
    }
}
