import Foundation
import MillwrightCore
import Reconciliation
import Synchronization

/// Decoded count events, kept across passes: stored events never change, so each is read and
/// decoded once, and a pass reads only the rows stored since the last one.
final class ObservationCache: Sendable {
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

    /// Appends what `fetch` returns for rows after the last seen one, and returns every observation.
    func update(_ fetch: (Int64) throws -> ([Raw], Int64?)) throws -> [Raw] {
        try state.withLock { s in
            let (new, last) = try fetch(s.afterRowID)
            s.raws += new
            if let last { s.afterRowID = last }
            return s.raws
        }
    }
}
