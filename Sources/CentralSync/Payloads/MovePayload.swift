import Foundation
import MillwrightCore

/// The payload of a yield, scrap or consumption posting: one stock move on a production order, with
/// the ERP ids it needs (Tryton creates the move from them) and the names a person reads.
///
/// Why these fields: they are what the reconciliation knows when it posts (the order as imported,
/// the ledger line, the revision) and what any ERP needs to book a move without another lookup.
public struct MovePayload: PostingPayload, Hashable {
    /// Which way material moves for a consumption posting.
    public enum Direction: String, Sendable, Codable, Hashable {
        /// Consumed beyond plan: storage -> production.
        case issue
        /// Less consumed than planned: production -> storage (in Tryton an output of the material).
        case `return`
    }

    /// The posting's idempotency key (a replay keeps it; a changed key would post the move twice).
    public var key: String
    public var kind: PostingKind
    public var orderID: Int64
    public var orderNumber: String
    public var orderReference: String
    public var companyID: Int64
    /// The move's quantity, in `unit_id`, always positive (a return says `direction: return`).
    public var quantity: Double
    /// The day the move is booked on (YYYY-MM-DD, UTC): the day of the line's last event.
    public var postingDate: String
    /// The time of the line's last event (RFC 3339, central clock).
    public var eventTime: Timestamp
    /// 1 for the first posting of a ledger line, +1 per correction.
    public var revision: Int
    public var correction: Bool
    /// The ledger line ("order/work/kind/material/bucket").
    public var line: String
    /// How many events the posting cites.
    public var events: Int
    public var workID: Int64?
    public var currencyID: Int64?
    /// Per unit, in the order's currency; set for moves to storage, absent for inputs and scrap.
    public var unitPrice: Double?
    public var productID: Int64
    public var productCode: String
    public var unitID: Int64
    public var fromLocationID: Int64
    public var toLocationID: Int64
    /// Consumption only.
    public var direction: Direction?
    /// Scrap only: the reason code an MES confirmed the scrap with (absent for counted scrap).
    public var reason: String?
    /// The lot number the move books (an MES's output lot on yield and scrap; the consumed lot of
    /// an `input_lot`); absent for counted quantities.
    public var lot: String?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case key, kind, quantity, revision, correction, line, events, direction, reason, lot
        case orderID = "order_id", orderNumber = "order_number", orderReference = "order_reference", companyID = "company_id"
        case postingDate = "posting_date", eventTime = "event_time", workID = "work_id", currencyID = "currency_id"
        case unitPrice = "unit_price", productID = "product_id", productCode = "product_code", unitID = "unit_id"
        case fromLocationID = "from_location_id", toLocationID = "to_location_id"
    }

    public static var knownFields: Set<String>? { Set(CodingKeys.allCases.map(\.rawValue)) }

    public init(key: String, kind: PostingKind, orderID: Int64, orderNumber: String, orderReference: String, companyID: Int64,
                quantity: Double, postingDate: String, eventTime: Timestamp, revision: Int, line: String, events: Int,
                workID: Int64? = nil, currencyID: Int64? = nil, unitPrice: Double? = nil, productID: Int64, productCode: String,
                unitID: Int64, fromLocationID: Int64, toLocationID: Int64, direction: Direction? = nil, reason: String? = nil,
                lot: String? = nil) {
        self.key = key
        self.kind = kind
        self.orderID = orderID
        self.orderNumber = orderNumber
        self.orderReference = orderReference
        self.companyID = companyID
        self.quantity = quantity
        self.postingDate = postingDate
        self.eventTime = eventTime
        self.revision = revision
        self.correction = revision > 1
        self.line = line
        self.events = events
        self.workID = workID
        self.currencyID = currencyID
        self.unitPrice = unitPrice
        self.productID = productID
        self.productCode = productCode
        self.unitID = unitID
        self.fromLocationID = fromLocationID
        self.toLocationID = toLocationID
        self.direction = direction
        self.reason = reason
        self.lot = lot
    }

    public func check(kind expected: PostingKind, key expectedKey: String) throws(PayloadError) {
        try Self.checkIdentity(kind: kind, key: key, expected: expected, expectedKey: expectedKey)
        guard quantity.isFinite, quantity > 0 else {
            throw .invalid(kind, field: "quantity", reason: "must be a positive number (got \(quantity)): a move cannot be negative; reverse a booked one in the ERP")
        }
        if let unitPrice, !(unitPrice.isFinite && unitPrice >= 0) {
            throw .invalid(kind, field: "unit_price", reason: "must be zero or more (got \(unitPrice))")
        }
        guard postingDate.count == 10, Timestamp(rfc3339: postingDate + "T00:00:00Z") != nil else {
            throw .invalid(kind, field: "posting_date", reason: "must be a day like 2026-11-24 (got \"\(postingDate)\")")
        }
        guard revision >= 1 else { throw .invalid(kind, field: "revision", reason: "must be 1 or more (got \(revision))") }
        let ids: [(String, Int64?)] = [("order_id", orderID), ("company_id", companyID), ("product_id", productID), ("unit_id", unitID),
                                       ("from_location_id", fromLocationID), ("to_location_id", toLocationID),
                                       ("work_id", workID), ("currency_id", currencyID)]
        for case let (field, id?) in ids where id <= 0 {
            throw .invalid(kind, field: field, reason: "must be an ERP id, 1 or more (got \(id))")
        }
        if reason != nil && kind != .scrap { throw .invalid(kind, field: "reason", reason: "applies to scrap only") }
        if let lot, lot.isEmpty || !IntakeText.isAcceptable(lot, max: 200) {
            throw .invalid(kind, field: "lot", reason: "must be 1 to 200 printable characters")
        }
        if lot != nil && kind == .consumption { throw .invalid(kind, field: "lot", reason: "applies to yield, scrap and input_lot") }
        switch (kind, direction) {
        case (.consumption, nil): throw .missing(kind, field: "direction")
        case (.yield, _?), (.scrap, _?), (.inputLot, _?): throw .invalid(kind, field: "direction", reason: "applies to consumption only")
        case (.inputLot, nil) where lot == nil: throw .missing(kind, field: "lot")
        case (.yield, _), (.scrap, _), (.consumption, _), (.inputLot, _): break
        default: throw .invalid(kind, field: "kind", reason: "is not a move (yield, scrap, consumption or input_lot)")
        }
    }
}
