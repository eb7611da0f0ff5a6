import Foundation
import MillwrightCore

/// What an MES reports for one operation of an order (ISA-95 production performance): good and
/// scrapped quantities, machine and labour time, as published on `mes.confirmations`:
/// `{"id": "MES-4711", "order": "MO/0001", "operation": "Press", "yield": 40, "scrap": 2,
/// "scrap_reason": "burr", "machine_seconds": 1500, "labor_seconds": 1800,
/// "at": "2026-12-07T10:00:00Z", "by": "mes-line-2"}`, and for lot genealogy `"lot": "OUT-1"` (the
/// output lot of the confirmed yield and scrap) and `"consumed": [{"material", "lot", "quantity"}]`.
///
/// Why checked here, before any lookup: a negative or absurd figure, an unknown field (a name
/// misspelt by the MES) or a scrap without its reason is refused with the field, never booked.
/// `id` is the MES's own id for the confirmation: a resend with the same id books nothing twice.
public struct MESConfirmation: Sendable, Hashable {
    public var id: String
    /// The ERP order's number or reference.
    public var order: String
    /// The routing operation's name as the ERP shows it.
    public var operation: String
    /// The ERP work's id, when the order runs the same operation more than once.
    public var work: Int64?
    public var yield: Double
    public var scrap: Double
    public var scrapReason: String?
    public var machineSeconds: Double
    public var laborSeconds: Double
    /// When the confirmed work ended (the posting date of its moves).
    public var at: Timestamp
    public var by: String
    /// The lot the confirmed yield and scrap belong to.
    public var lot: String?
    /// The input lots the operation consumed.
    public var consumed: [ConsumedLot]

    /// The largest confirmation read (a larger one is refused unread).
    public static let maxBytes = 16 * 1024
    /// The longest id, order, operation, reason and `by`.
    public static let maxText = 200
    /// The largest quantity accepted in one confirmation.
    public static let maxQuantity = 1e9
    static let fields: Set<String> = ["id", "order", "operation", "work", "yield", "scrap", "scrap_reason",
                                      "machine_seconds", "labor_seconds", "at", "by", "lot", "consumed"]

    public init(id: String, order: String, operation: String, work: Int64? = nil, yield: Double = 0, scrap: Double = 0,
                scrapReason: String? = nil, machineSeconds: Double = 0, laborSeconds: Double = 0, at: Timestamp, by: String = "mes",
                lot: String? = nil, consumed: [ConsumedLot] = []) {
        self.id = id
        self.order = order
        self.operation = operation
        self.work = work
        self.yield = yield
        self.scrap = scrap
        self.scrapReason = scrapReason
        self.machineSeconds = machineSeconds
        self.laborSeconds = laborSeconds
        self.at = at
        self.by = by
        self.lot = lot
        self.consumed = consumed
    }

    /// The message as sent; every field optional so a missing one is named by the checks below.
    struct Wire: Decodable {
        var id: String?
        var order: String?
        var operation: String?
        var work: Int64?
        var yield: Double?
        var scrap: Double?
        var scrap_reason: String?
        var machine_seconds: Double?
        var labor_seconds: Double?
        var at: String?
        var by: String?
        var lot: String?
        var consumed: [Consumed]?

        struct Consumed: Decodable {
            var material: String?
            var lot: String?
            var quantity: Double?
        }
    }

    /// Decodes and checks one message (or one record of a dropped file, as a JSON object); the
    /// refusal names the field and what is wrong.
    public static func decode(_ payload: [UInt8]) -> Result<MESConfirmation, ConfirmationRefusal> {
        guard payload.count <= maxBytes else { return .failure(.malformed("larger than \(maxBytes) bytes")) }
        let data = Data(payload)
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            return .failure(.malformed("not a JSON object"))
        }
        for field in object.keys.sorted() where !fields.contains(field) {
            return .failure(.invalid(field: String(field.prefix(maxText)), reason: "is not a confirmation field (\(fields.sorted().joined(separator: ", ")))"))
        }
        if let consumed = object["consumed"], !(consumed is NSNull) {
            guard let list = consumed as? [Any] else { return .failure(.invalid(field: "consumed", reason: "must be a list of {material, lot, quantity}")) }
            guard list.count <= ConsumedLot.maxPerConfirmation else {
                return .failure(.invalid(field: "consumed", reason: "names \(list.count) lots; at most \(ConsumedLot.maxPerConfirmation)"))
            }
            for (i, entry) in list.enumerated() {
                guard let e = entry as? [String: Any] else { return .failure(.invalid(field: "consumed[\(i)]", reason: "must be an object {material, lot, quantity}")) }
                for field in e.keys.sorted() where !ConsumedLot.fields.contains(field) {
                    return .failure(.invalid(field: "consumed[\(i)].\(field.prefix(maxText))", reason: "is not a field of a consumed lot (lot, material, quantity)"))
                }
            }
        }
        let wire: Wire
        do {
            wire = try JSONDecoder().decode(Wire.self, from: data)
        } catch DecodingError.typeMismatch(let type, let ctx) {
            let field = Self.path(ctx.codingPath)
            return .failure(.invalid(field: field, reason: type == String.self ? "must be text" : type == Int64.self ? "must be a whole number" : "must be a number"))
        } catch DecodingError.dataCorrupted(let ctx) {
            return .failure(.invalid(field: Self.path(ctx.codingPath), reason: "is not valid"))
        } catch {
            return .failure(.malformed("\(error)"))
        }
        return check(wire)
    }

    /// `consumed[1].quantity` for a field of a list entry, the field's name otherwise.
    static func path(_ keys: [any CodingKey]) -> String {
        guard let first = keys.first else { return "?" }
        var out = first.stringValue
        for k in keys.dropFirst() {
            if let i = k.intValue { out += "[\(i)]" } else { out += ".\(k.stringValue)" }
        }
        return out
    }

    static func check(_ w: Wire) -> Result<MESConfirmation, ConfirmationRefusal> {
        func text(_ field: String, _ value: String?, required: Bool) throws(ConfirmationRefusal) -> String? {
            guard let s = value else {
                if required { throw .invalid(field: field, reason: "is required") }
                return nil
            }
            let trimmed = s.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty else { throw .invalid(field: field, reason: "must not be empty") }
            guard IntakeText.isAcceptable(trimmed, max: maxText) else {
                throw .invalid(field: field, reason: "must be at most \(maxText) printable characters")
            }
            return trimmed
        }
        func number(_ field: String, _ value: Double?, max: Double) throws(ConfirmationRefusal) -> Double {
            guard let d = value else { return 0 }
            guard d.isFinite, d >= 0 else { throw .invalid(field: field, reason: "must be 0 or more (got \(d))") }
            guard d <= max else { throw .invalid(field: field, reason: "must be at most \(max) (got \(d))") }
            return d
        }
        do throws(ConfirmationRefusal) {
            let id = try text("id", w.id, required: true)!
            let order = try text("order", w.order, required: true)!
            let operation = try text("operation", w.operation, required: true)!
            let at = try text("at", w.at, required: true)!
            guard let time = Timestamp(rfc3339: at) else { throw .invalid(field: "at", reason: "must be an RFC 3339 time like 2026-12-07T10:00:00Z") }
            if let work = w.work, work <= 0 { throw .invalid(field: "work", reason: "must be an ERP work id, 1 or more") }
            var c = MESConfirmation(id: id, order: order, operation: operation, work: w.work,
                                    yield: try number("yield", w.yield, max: maxQuantity), scrap: try number("scrap", w.scrap, max: maxQuantity),
                                    scrapReason: try text("scrap_reason", w.scrap_reason, required: false),
                                    machineSeconds: try number("machine_seconds", w.machine_seconds, max: WorkCyclePayload.maxSeconds),
                                    laborSeconds: try number("labor_seconds", w.labor_seconds, max: WorkCyclePayload.maxSeconds),
                                    at: time, by: try text("by", w.by, required: false) ?? "mes",
                                    lot: try text("lot", w.lot, required: false))
            for (i, e) in (w.consumed ?? []).enumerated() {
                let field = "consumed[\(i)]"
                let quantity = try number("\(field).quantity", e.quantity, max: maxQuantity)
                guard quantity > 0 else { throw .invalid(field: "\(field).quantity", reason: "is required, more than 0") }
                c.consumed.append(ConsumedLot(material: try text("\(field).material", e.material, required: true)!,
                                              lot: try text("\(field).lot", e.lot, required: true)!, quantity: quantity))
            }
            if Set(c.consumed.map { [$0.material, $0.lot] }).count < c.consumed.count {
                throw .invalid(field: "consumed", reason: "names a material's lot twice: give its quantity once")
            }
            if c.lot != nil && c.yield == 0 && c.scrap == 0 {
                throw .invalid(field: "lot", reason: "needs yield or scrap to belong to")
            }
            if c.scrap > 0 && c.scrapReason == nil {
                throw .invalid(field: "scrap_reason", reason: "is required with scrap (the reason code the ERP books it under)")
            }
            guard c.yield > 0 || c.scrap > 0 || c.machineSeconds > 0 || c.laborSeconds > 0 || !c.consumed.isEmpty else {
                throw .invalid(field: "yield", reason: "scrap, machine_seconds, labor_seconds and consumed are all 0 or empty: nothing to confirm")
            }
            return .success(c)
        } catch {
            return .failure(error)
        }
    }
}
