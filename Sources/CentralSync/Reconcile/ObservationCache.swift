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

    private let state = Mutex<(afterRowID: Int64, raws: [Raw])>((0, []))

    /// Appends what `fetch` returns for rows after the last seen one, forgets observations that
    /// ended before `evictBefore` (out of the horizon for good), and returns the rest.
    func update(evictBefore: Timestamp, _ fetch: (Int64) throws -> ([Raw], Int64?)) throws -> [Raw] {
        try state.withLock { s in
            let (new, last) = try fetch(s.afterRowID)
            if s.raws.first.map({ $0.to < evictBefore }) == true { s.raws.removeAll { $0.to < evictBefore } }
            s.raws += new
            if let last { s.afterRowID = last }
            return s.raws
        }
    }
}
