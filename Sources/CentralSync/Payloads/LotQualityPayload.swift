import Foundation
import MillwrightCore

/// The payload of a `lot_quality` posting: one inspection result for a lot, to hold the lot in the
/// ERP (`fail`) or release it (`pass`).
///
/// Why the result and not "move N units": a hold must take whatever of the lot is on hand when it
/// is applied, and results can arrive late or twice; the ERP side applies the latest result by
/// inspection time (`at`) once per key (in Tryton the `millwright` module's
/// `stock.lot.millwright_quality_result`).
public struct LotQualityPayload: PostingPayload, Hashable {
    public enum Outcome: String, Sendable, Codable, Hashable, CaseIterable {
        /// Passed: the lot is released (available again).
        case pass
        /// Failed: the lot is held (nothing may be assigned from it).
        case fail
    }

    public var key: String
    public var kind: PostingKind
    public var lot: String
    public var productID: Int64
    public var productCode: String
    public var result: Outcome
    /// The inspection's id at the lab or MES.
    public var inspection: String
    /// When the inspection was made: the latest result wins, whatever order they arrive in.
    public var at: Timestamp
    public var by: String
    public var note: String?
    /// The warehouse storage the lot is held from and released to (where its order's stock is).
    public var storageLocationID: Int64

    enum CodingKeys: String, CodingKey, CaseIterable {
        case key, kind, lot, result, inspection, at, by, note
        case productID = "product_id", productCode = "product_code", storageLocationID = "storage_location_id"
    }

    public static var knownFields: Set<String>? { Set(CodingKeys.allCases.map(\.rawValue)) }

    public init(key: String, lot: String, productID: Int64, productCode: String, result: Outcome, inspection: String,
                at: Timestamp, by: String, note: String?, storageLocationID: Int64) {
        self.key = key
        self.kind = .lotQuality
        self.lot = lot
        self.productID = productID
        self.productCode = productCode
        self.result = result
        self.inspection = inspection
        self.at = at
        self.by = by
        self.note = note
        self.storageLocationID = storageLocationID
    }

    public func check(kind expected: PostingKind, key expectedKey: String) throws(PayloadError) {
        try Self.checkIdentity(kind: kind, key: key, expected: expected, expectedKey: expectedKey)
        for (field, id) in [("product_id", productID), ("storage_location_id", storageLocationID)] where id <= 0 {
            throw .invalid(kind, field: field, reason: "must be an ERP id, 1 or more (got \(id))")
        }
        for (field, text) in [("lot", lot), ("inspection", inspection)] where text.isEmpty || !IntakeText.isAcceptable(text, max: 200) {
            throw .invalid(kind, field: field, reason: "must be 1 to 200 printable characters")
        }
        if let note, !IntakeText.isAcceptable(note, max: 1000) {
            throw .invalid(kind, field: "note", reason: "must be at most 1000 printable characters")
        }
    }
}
