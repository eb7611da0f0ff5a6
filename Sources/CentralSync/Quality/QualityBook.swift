import Foundation
import Logging
import MillwrightCore
import Synchronization

/// Books inspection results for lots: resolved against the lots the confirmations booked
/// (`QualityPlanner`), checked against what a previous send booked, added to the postings outbox,
/// counted by outcome.
///
/// Why a book beside `ConfirmationBook`: the same duplicate rule (same id and figures: nothing
/// more; other figures: a conflict) over another key and payload.
public final class QualityBook: Sendable {
    let store: any SyncState
    let routes: [PostingKind: String]
    let counter: BookCounter

    public init(store: any SyncState, routes: [PostingKind: String], logger: Logger) {
        self.store = store
        self.routes = routes
        counter = BookCounter(noun: "inspection result", logger: logger)
    }

    public var stats: ConfirmationBook.Stats { counter.stats }

    /// Books one result; throws only when the store failed (nothing was booked then).
    public func book(_ r: InspectionResult, now: Timestamp = .now()) async throws -> ConfirmationBook.Outcome {
        if let earlier = try await compareWithBooked(r) { return earlier }
        let planned: NewPosting
        switch QualityPlanner.posting(for: r, booked: try await store.postings(), routes: routes) {
        case .success(let p): planned = p
        case .failure(let refusal):
            refused(refusal, id: r.id)
            return .refused(refusal)
        }
        let added = try await store.apply(postings: [planned], now: now)
        if added.isEmpty, let earlier = try await compareWithBooked(r) { return earlier }
        counter.booked(["id": "\(r.id)", "lot": "\(r.lot)", "result": "\(r.result.rawValue)"])
        return .booked([planned.idempotencyKey])
    }

    func compareWithBooked(_ r: InspectionResult) async throws -> ConfirmationBook.Outcome? {
        guard let p = try await store.posting(key: QualityPlanner.key(r.id)) else { return nil }
        guard let m = try? LotQualityPayload.decode(p.payload, as: .lotQuality), m.lot == r.lot, m.productCode == r.product,
              m.result == r.result, m.at == r.at else {
            let refusal = ConfirmationRefusal.conflict(id: r.id)
            refused(refusal, id: r.id)
            return .refused(refusal)
        }
        counter.duplicate(id: r.id)
        return .duplicate
    }

    public func refused(_ r: ConfirmationRefusal, id: String?, source: String? = nil) {
        counter.refused(r, id: id, source: source)
    }
}
