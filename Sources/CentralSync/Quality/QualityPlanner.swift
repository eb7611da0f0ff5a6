import Foundation
import MillwrightCore

/// Decides what one inspection result books: a `lot_quality` posting for a lot the MES's
/// confirmations booked, or the reason nothing is.
///
/// Why only lots the confirmations booked: the result holds stock in the ERP, and the lot's
/// product and the storage it sits in come from the postings that put it there (a yield's
/// storage, a consumed lot's storage); a lot Millwright never booked is refused (`unknown_lot`)
/// rather than looked up by a guess. Keys are `lot_quality:insp:<id>`.
public enum QualityPlanner {
    public static func key(_ id: String) -> String { "\(PostingKind.lotQuality.rawValue):insp:\(id)" }

    public static func posting(for r: InspectionResult, booked: [Posting], routes: [PostingKind: String]) -> Result<NewPosting, ConfirmationRefusal> {
        var place: (product: Int64, storage: Int64)?
        for p in booked where p.status != .dead && (p.kind == .yield || p.kind == .inputLot) {
            guard let m = try? MovePayload.decode(p.payload, as: p.kind), m.lot == r.lot, m.productCode == r.product else { continue }
            place = (m.productID, p.kind == .yield ? m.toLocationID : m.fromLocationID)
            break
        }
        guard let place else { return .failure(.unknownLot(lot: r.lot, product: r.product)) }
        guard let target = routes[.lotQuality] else { return .failure(.notRouted(.lotQuality)) }
        let key = key(r.id)
        let payload = LotQualityPayload(key: key, lot: r.lot, productID: place.product, productCode: r.product, result: r.result,
                                        inspection: r.id, at: r.at, by: r.by, note: r.note, storageLocationID: place.storage)
        guard let text = try? payload.encoded() else { return .failure(.invalid(field: "lot", reason: "cannot be written as a payload")) }
        return .success(NewPosting(idempotencyKey: key, target: target, kind: .lotQuality, orderID: nil, quantity: 0, payload: text,
                                   sources: ["inspection:\(r.id)"]))
    }
}
