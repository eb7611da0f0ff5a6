import Foundation
import MillwrightCore

/// The lots an inspection holds now: per lot and product, the latest delivered `lot_quality`
/// result by inspection time, where it failed. What `status` lists.
///
/// Why from the delivered results only: a result still pending or dead has not changed the ERP,
/// and a superseded one is older than the latest by definition.
public struct HeldLot: Sendable, Hashable, Codable {
    public var lot: String
    public var product: String
    public var inspection: String
    public var at: String
    public var note: String?
    /// Results for the lot not delivered yet (they may change it).
    public var pending: Int

    public static func make(_ postings: [Posting]) -> [HeldLot] {
        var latest: [String: (at: Timestamp, payload: LotQualityPayload)] = [:]
        var pending: [String: Int] = [:]
        for p in postings where p.kind == .lotQuality {
            guard let q = try? LotQualityPayload.decode(p.payload, as: .lotQuality) else { continue }
            let id = "\(q.productCode)\u{0}\(q.lot)"
            guard p.status.isDelivered else {
                if p.status != .dead { pending[id, default: 0] += 1 }
                continue
            }
            if let l = latest[id], l.at > q.at { continue }
            latest[id] = (q.at, q)
        }
        return latest.compactMap { id, l in
            guard l.payload.result == .fail else { return nil }
            return HeldLot(lot: l.payload.lot, product: l.payload.productCode, inspection: l.payload.inspection, at: l.at.rfc3339,
                           note: l.payload.note, pending: pending[id] ?? 0)
        }.sorted { ($0.product, $0.lot) < ($1.product, $1.lot) }
    }
}
