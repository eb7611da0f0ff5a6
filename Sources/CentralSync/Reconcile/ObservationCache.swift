import CentralIngest
import Foundation
import MillwrightCore
import Reconciliation
import Synchronization

/// Decoded count events, kept across passes: stored events never change, so each is read and
/// decoded once, and a pass reads only the rows stored since the last one.
final class ObservationCache: Sendable {
    /// Stored events a pass could not decode (stored before ingest validated `values`): counted,
    /// reported in the pass's outcome and logged by `SyncService`, never silently skipped.
    let undecodable = Mutex<[EventKey]>([])
    /// An observation as the edge sent it (edge clock, before skew correction).
    struct Raw: Sendable {
        var key: EventKey
        var equipment: String
        var kind: QuantityKind
        var material: String?
        var quantity: Double
        var from: Timestamp
        var to: Timestamp
        var received: Timestamp
    }

    private let state = Mutex<(position: FeedPosition, raws: [Raw])>((.start, []))

    /// Appends what `fetch` returns for events after the last position seen, forgets observations
    /// that ended before `evictBefore` (out of the horizon for good), and returns the rest. Two
    /// passes at once (the reconcile loop and a command's ledger) cannot both append one range:
    /// the one that finds the position moved meanwhile fetches again from the new one.
    func update(evictBefore: Timestamp, _ fetch: (FeedPosition) async throws -> ([Raw], FeedPosition?)) async throws -> [Raw] {
        while true {
            let from = state.withLock { $0.position }
            let (new, last) = try await fetch(from)
            let done = state.withLock { s -> [Raw]? in
                guard s.position == from else { return nil }
                if s.raws.first.map({ $0.to < evictBefore }) == true { s.raws.removeAll { $0.to < evictBefore } }
                s.raws += new
                if let last { s.position = last }
                return s.raws
            }
            if let done { return done }
        }
    }
}

extension FeedEvent {
    /// The event's identity as reconciliation names it (sources of postings and review items).
    var key: EventKey { EventKey(edge: edge, bootEpoch: bootEpoch, seq: seq) }
}
