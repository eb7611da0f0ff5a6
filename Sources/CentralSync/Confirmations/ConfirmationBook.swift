import Foundation
import Logging
import MillwrightCore
import Synchronization

/// Books MES confirmations, whichever way they arrive (MQTT, a dropped file): resolved against the
/// imported orders (`ConfirmationPlanner`), checked against what a previous send booked, and added
/// to the postings outbox; counted by outcome.
///
/// Why one type shared by the intakes: a confirmation sent over MQTT and dropped again as a file
/// must meet the same checks and the same duplicate rule, and an operator reads one set of counts.
public final class ConfirmationBook: Sendable {
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

    public init(store: any SyncState, routes: [PostingKind: String], logger: Logger) {
        self.store = store
        self.routes = routes
        self.logger = logger
    }

    public var stats: Stats { counters.withLock { $0 } }

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

    /// Counts and logs a refusal (`id` when the confirmation got as far as having one).
    public func refused(_ r: ConfirmationRefusal, id: String?, source: String? = nil) {
        counters.withLock { $0.refused[r.name, default: 0] += 1 }
        logger.warning("MES confirmation refused: nothing booked", metadata: [
            "id": "\(id?.prefix(200) ?? "-")", "reason": "\(r)", "source": "\(source ?? "mqtt")"])
    }
}
