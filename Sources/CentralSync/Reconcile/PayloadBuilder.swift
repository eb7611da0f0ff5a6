import Foundation
import MillwrightCore
import Reconciliation

/// Builds the typed payloads postings carry from what the reconcile pass knows (the order as
/// imported, the ledger line, the event). Connectors decode them (Tryton: a stock move; HTTP: a
/// template); operators can edit them before a replay, checked against the same types.
enum PayloadBuilder {
    static func day(_ t: Timestamp) -> String { String(t.rfc3339.prefix(10)) }

    /// Why a quantity line cannot be posted as a move (it goes to the review queue instead).
    enum Unpostable: Error {
        case notAPlannedInput(material: String, order: String)
    }

    /// A yield or scrap declaration (an output move) or a consumption correction (an input move, or a
    /// return of unused material when negative).
    static func quantity(key: String, line: LineKey, order: ERPOrder, quantity: Double, date: Timestamp, revision: Int,
                         sources: [EventKey]) throws(Unpostable) -> MovePayload {
        let kind = PostingKind(line.kind)
        func move(quantity: Double, productID: Int64, productCode: String, unitID: Int64, from: Int64, to: Int64,
                  unitPrice: Double? = nil, direction: MovePayload.Direction? = nil) -> MovePayload {
            MovePayload(key: key, kind: kind, orderID: order.id, orderNumber: order.number, orderReference: order.reference,
                        companyID: order.companyID, quantity: quantity, postingDate: day(date), eventTime: date, revision: revision,
                        line: line.description, events: sources.count, workID: line.workID, currencyID: order.currencyID,
                        unitPrice: unitPrice, productID: productID, productCode: productCode, unitID: unitID,
                        fromLocationID: from, toLocationID: to, direction: direction)
        }
        switch line.kind {
        case .yield:
            return move(quantity: quantity, productID: order.productID, productCode: order.productCode, unitID: order.unitID,
                        from: order.productionLocationID, to: order.storageLocationID, unitPrice: order.unitCost ?? 0)
        case .scrap:
            return move(quantity: quantity, productID: order.productID, productCode: order.productCode, unitID: order.unitID,
                        from: order.productionLocationID, to: order.scrapLocationID ?? order.storageLocationID)
        case .consumption:
            guard let input = order.plannedInputs[line.material] else {
                throw .notAPlannedInput(material: line.material, order: order.number)
            }
            if quantity < 0 {
                // Less consumed than planned: the rest returns from the production to storage (in
                // Tryton an output of the material, priced at the inputs' cost when the order is done).
                return move(quantity: -quantity, productID: input.productID, productCode: line.material, unitID: input.unitID,
                            from: order.productionLocationID, to: order.storageLocationID, unitPrice: 0, direction: .return)
            }
            return move(quantity: quantity, productID: input.productID, productCode: line.material, unitID: input.unitID,
                        from: order.storageLocationID, to: order.productionLocationID, direction: .issue)
        }
    }

    /// An immediate-tier posting about one event.
    static func event(key: String, kind: PostingKind, envelope e: EventEnvelope, at: Timestamp, workCenter: String, order: ERPOrder?) -> EventNoticePayload {
        EventNoticePayload(key: key, kind: kind, envelope: e, occurredAt: at, workCenter: workCenter,
                           orderID: order?.id, orderNumber: order?.number, orderReference: order?.reference)
    }
}
