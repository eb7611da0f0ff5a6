import Foundation
import MillwrightCore

/// One inspection result for a lot, as a lab or an MES publishes it on `mes.inspections`:
/// `{"id": "QI-77", "lot": "OUT-1", "product": "WIDGET", "result": "fail", "at":
/// "2026-12-07T11:00:00Z", "by": "lab-1", "note": "hardness 41 HRC < 45"}`.
///
/// Why checked here: a result decides whether stock may be used; a misspelt field, a result other
/// than pass or fail, or a time that is not a time is refused with the field, never guessed.
public struct InspectionResult: Sendable, Hashable {
    public var id: String
    public var lot: String
    /// The lot's product code (lot numbers are unique per product in the ERP).
    public var product: String
    public var result: LotQualityPayload.Outcome
    public var at: Timestamp
    public var by: String
    public var note: String?

    public init(id: String, lot: String, product: String, result: LotQualityPayload.Outcome, at: Timestamp, by: String = "lab", note: String? = nil) {
        self.id = id
        self.lot = lot
        self.product = product
        self.result = result
        self.at = at
        self.by = by
        self.note = note
    }

    static let fields: Set<String> = ["id", "lot", "product", "result", "at", "by", "note"]

    struct Wire: Decodable {
        var id: String?
        var lot: String?
        var product: String?
        var result: String?
        var at: String?
        var by: String?
        var note: String?
    }

    public static func decode(_ payload: [UInt8]) -> Result<InspectionResult, ConfirmationRefusal> {
        guard payload.count <= MESConfirmation.maxBytes else { return .failure(.malformed("larger than \(MESConfirmation.maxBytes) bytes")) }
        let data = Data(payload)
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            return .failure(.malformed("not a JSON object"))
        }
        for field in object.keys.sorted() where !fields.contains(field) {
            return .failure(.invalid(field: String(field.prefix(MESConfirmation.maxText)),
                                     reason: "is not an inspection field (\(fields.sorted().joined(separator: ", ")))"))
        }
        let w: Wire
        do {
            w = try JSONDecoder().decode(Wire.self, from: data)
        } catch DecodingError.typeMismatch(_, let ctx) {
            return .failure(.invalid(field: MESConfirmation.path(ctx.codingPath), reason: "must be text"))
        } catch {
            return .failure(.malformed("\(error)"))
        }
        func text(_ field: String, _ value: String?, max: Int = MESConfirmation.maxText) throws(ConfirmationRefusal) -> String {
            guard let s = value?.trimmingCharacters(in: .whitespaces), !s.isEmpty else { throw .invalid(field: field, reason: "is required") }
            guard IntakeText.isAcceptable(s, max: max) else { throw .invalid(field: field, reason: "must be at most \(max) printable characters") }
            return s
        }
        do throws(ConfirmationRefusal) {
            let result = try text("result", w.result)
            guard let outcome = LotQualityPayload.Outcome(rawValue: result) else {
                throw .invalid(field: "result", reason: "must be \"pass\" or \"fail\" (got \"\(result.prefix(40))\")")
            }
            let at = try text("at", w.at)
            guard let time = Timestamp(rfc3339: at) else { throw .invalid(field: "at", reason: "must be an RFC 3339 time like 2026-12-07T10:00:00Z") }
            return .success(InspectionResult(id: try text("id", w.id), lot: try text("lot", w.lot), product: try text("product", w.product),
                                             result: outcome, at: time, by: w.by == nil ? "lab" : try text("by", w.by),
                                             note: w.note == nil ? nil : try text("note", w.note, max: 1000)))
        } catch {
            return .failure(error)
        }
    }
}
