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
    let counter: BookCounter

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
        counter = BookCounter(noun: "MES confirmation", logger: logger)
    }

    public var stats: Stats { counter.stats }

    /// Books one confirmation; throws only when the store failed (nothing was booked then).
    public func book(_ c: MESConfirmation, now: Timestamp = .now()) async throws -> Outcome {
        // A resend finds what the first one booked, whatever became of the order since (a
        // redelivery after the ERP closed it is still a duplicate, not a refusal).
        if let earlier = try await compareWithBooked(c) { return earlier }
        let planned: [NewPosting]
        switch ConfirmationPlanner.postings(for: c, orders: try await store.orders(), routes: routes) {
        case .success(let p): planned = p
        case .failure(let r):
            refused(r, id: c.id)
            return .refused(r)
        }
        let added = try await store.apply(postings: planned, now: now)
        if added.count < planned.count, let earlier = try await compareWithBooked(c) {
            // Another intake (a replica, or the folder and MQTT at once) booked the same id meanwhile.
            return earlier
        }
        counter.booked(["id": "\(c.id)", "order": "\(c.order)", "operation": "\(c.operation)",
                        "postings": "\(planned.map(\.idempotencyKey).joined(separator: ","))"])
        return .booked(planned.map(\.idempotencyKey))
    }

    /// nil when nothing was booked under the confirmation's id; else a duplicate (the same
    /// figures) or a conflict (others), counted.
    func compareWithBooked(_ c: MESConfirmation) async throws -> Outcome? {
        var existing: [PostingKind: Posting] = [:]
        for (kind, key) in ConfirmationPlanner.keys(c.id) {
            if let p = try await store.posting(key: key) { existing[kind] = p }
        }
        // Consumed lots, from the first until one more than the confirmation names is not there.
        var lots: [Posting] = []
        while let p = try await store.posting(key: ConfirmationPlanner.inputLotKey(c.id, lots.count + 1)) {
            lots.append(p)
        }
        guard !existing.isEmpty || !lots.isEmpty else { return nil }
        guard Self.sameFigures(c, existing), Self.sameLots(c, lots) else {
            let r = ConfirmationRefusal.conflict(id: c.id)
            refused(r, id: c.id)
            return .refused(r)
        }
        counter.duplicate(id: c.id)
        return .duplicate
    }

    /// Whether the postings booked under a confirmation's id carry exactly its figures: the same
    /// kinds, quantities, scrap reason, times, order and work (an operator's edit before a replay
    /// that changed one makes a resend a conflict, which is what it then is).
    static func sameFigures(_ c: MESConfirmation, _ existing: [PostingKind: Posting]) -> Bool {
        let wanted: [PostingKind: Bool] = [.yield: c.yield > 0, .scrap: c.scrap > 0, .workCycle: c.machineSeconds > 0 || c.laborSeconds > 0]
        guard wanted.allSatisfy({ (existing[$0.key] != nil) == $0.value }) else { return false }
        func sameOrder(_ number: String, _ reference: String, _ work: Int64?) -> Bool {
            (c.order == number || c.order == reference) && (c.work == nil || c.work == work)
        }
        for kind in [PostingKind.yield, .scrap] {
            guard let p = existing[kind] else { continue }
            guard let m = try? MovePayload.decode(p.payload, as: kind), m.quantity == (kind == .yield ? c.yield : c.scrap),
                  sameOrder(m.orderNumber, m.orderReference, m.workID), kind == .yield || m.reason == c.scrapReason,
                  m.lot == c.lot else { return false }
        }
        if let p = existing[.workCycle] {
            guard let w = try? WorkCyclePayload.decode(p.payload, as: .workCycle), w.machineSeconds == c.machineSeconds,
                  w.laborSeconds == c.laborSeconds, w.operation == c.operation, sameOrder(w.orderNumber, w.orderReference, w.workID) else { return false }
        }
        return true
    }

    /// Whether the consumed lots booked are the ones named, in the same order with the same
    /// quantities, for the same order and work.
    static func sameLots(_ c: MESConfirmation, _ booked: [Posting]) -> Bool {
        guard c.consumed.count == booked.count else { return false }
        for (lot, p) in zip(c.consumed, booked) {
            guard let m = try? MovePayload.decode(p.payload, as: .inputLot), m.productCode == lot.material,
                  m.lot == lot.lot, m.quantity == lot.quantity, c.order == m.orderNumber || c.order == m.orderReference,
                  c.work == nil || c.work == m.workID else { return false }
        }
        return true
    }

    /// Counts and logs a refusal (`id` when the confirmation got as far as having one).
    public func refused(_ r: ConfirmationRefusal, id: String?, source: String? = nil) {
        counter.refused(r, id: id, source: source)
    }
}
