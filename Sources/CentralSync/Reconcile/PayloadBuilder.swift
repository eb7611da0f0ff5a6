import Foundation
import MillwrightCore
import Reconciliation

/// The canonical payloads postings carry. Connectors translate them (Tryton: a stock move; HTTP:
/// a template); operators can edit them before a replay.
enum PayloadBuilder {
    static func encode(_ object: [String: Any]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    static func day(_ t: Timestamp) -> String { String(t.rfc3339.prefix(10)) }

    /// A yield or scrap declaration (an output move) or a consumption correction (an input move, or a
    /// return of unused material when negative).
    static func quantity(key: String, line: LineKey, order: ERPOrder, quantity: Double, date: Timestamp, revision: Int,
                         sources: [EventKey]) -> String? {
        var p: [String: Any] = [
            "key": key, "kind": line.kind.rawValue, "order_id": order.id, "order_number": order.number,
            "order_reference": order.reference, "company_id": order.companyID, "quantity": quantity,
            "posting_date": day(date), "event_time": date.rfc3339, "revision": revision,
            "correction": revision > 1, "line": line.description, "events": sources.count,
        ]
        if let w = line.workID { p["work_id"] = w }
        if let c = order.currencyID { p["currency_id"] = c }
        switch line.kind {
        case .yield:
            p["unit_price"] = order.unitCost ?? 0
            p["product_id"] = order.productID; p["product_code"] = order.productCode; p["unit_id"] = order.unitID
            p["from_location_id"] = order.productionLocationID; p["to_location_id"] = order.storageLocationID
        case .scrap:
            p["product_id"] = order.productID; p["product_code"] = order.productCode; p["unit_id"] = order.unitID
            p["from_location_id"] = order.productionLocationID
            p["to_location_id"] = order.scrapLocationID ?? order.storageLocationID
        case .consumption:
            guard let input = order.plannedInputs[line.material] else { return nil }
            p["product_id"] = input.productID; p["product_code"] = line.material; p["unit_id"] = input.unitID
            if quantity < 0 {
                // Less consumed than planned: the rest returns from the production to storage (in
                // Tryton an output of the material, priced at the inputs' cost when the order is done).
                p["quantity"] = -quantity
                p["direction"] = "return"
                p["unit_price"] = 0
                p["from_location_id"] = order.productionLocationID; p["to_location_id"] = order.storageLocationID
            } else {
                p["direction"] = "issue"
                p["from_location_id"] = order.storageLocationID; p["to_location_id"] = order.productionLocationID
            }
        }
        return encode(p)
    }

    /// An immediate-tier posting about one event.
    static func event(key: String, kind: String, envelope e: EventEnvelope, at: Timestamp, workCenter: String, order: ERPOrder?) -> String {
        var p: [String: Any] = [
            "key": key, "kind": kind, "site": e.site, "edge": e.edge, "equipment": e.equipment, "signal": e.signal,
            "event_type": e.type.rawValue, "work_center": workCenter, "occurred_at": at.rfc3339,
            "event": "\(e.edge):\(e.bootEpoch ?? 0):\(e.seq ?? 0)",
        ]
        if let o = order { p["order_id"] = o.id; p["order_number"] = o.number; p["order_reference"] = o.reference }
        for (k, v) in e.values {
            switch v {
            case .number(let n): p[k] = n
            case .text(let s): p[k] = s
            case .bool(let b): p[k] = b
            }
        }
        return encode(p)
    }
}
