import CentralSync
import Foundation
import MillwrightCore

extension TrytonConnector {
    /// The id of Tryton's `stock.lot` with this number for the product, created when there is none
    /// (the `stock_lot` module must be activated). Looked up first, so a retry after a lost answer
    /// finds the lot the earlier attempt made; always the oldest of that number, so two replicas
    /// that created the same new lot at once both book on the same one (Tryton does not make a
    /// lot number unique; the spare one holds nothing).
    func lot(number: String, product: Int64, ctx: [String: Any]) async throws(TrytonError) -> Int64 {
        func oldest() async throws(TrytonError) -> Int64? {
            let found = try await client.call("model.stock.lot.search",
                                              [[["number", "=", number], ["product", "=", product]], 0, 1, [["id", "ASC"]], ctx])
            return (found as? [Any]).flatMap { TrytonJSON.int($0.first) }
        }
        if let id = try await oldest() { return id }
        let created = try await client.call("model.stock.lot.create", [[["number": number, "product": product]], ctx])
        guard let ids = created as? [Any], let id = TrytonJSON.int(ids.first) else {
            throw .unexpectedAnswer(method: "model.stock.lot.create", detail: "\(created)")
        }
        logger.info("lot created in Tryton", metadata: ["lot": "\(number)", "product": "\(product)", "id": "\(id)"])
        return try await oldest() ?? id
    }

    /// Books a lot an MES confirmed an operation consumed. A running production's inputs were done
    /// when it started, without a lot; the lot's quantity is re-booked from the lot: an input of the
    /// lot (storage -> production, done now) and a return of the same quantity without a lot (an
    /// output back to storage, done with the production). Consumption is unchanged, the lot's stock
    /// goes down, and Tryton's lot trace (`stock.lot.trace`) finds the lot among the order's inputs,
    /// so every output lot of the order traces down to it.
    ///
    /// Both moves are created in one call (one Tryton transaction), the input with the posting's
    /// key and the return with the key and `/unlotted`; a retry that finds the key finishes the
    /// input an earlier attempt left draft.
    func deliverInputLot(_ p: MovePayload) async throws(TrytonError) -> DeliveryOutcome {
        guard let number = p.lot else { return .failed("the payload names no lot: fix it and replay") }
        let ctx = try await client.context()
        let found = try await searchRead("stock.move", [["millwright_key", "=", p.key]], ["id", "state"], ctx)
        let state = try await read("production", [p.orderID], ["state"], ctx)
        let s = (state.first?["state"] as? String).flatMap(OrderState.init(rawValue:))
        if let row = found.first, let id = TrytonJSON.int(row["id"]) {
            switch row["state"] as? String {
            case "done": return .found(documentRef: "stock.move:\(id)", note: "found by reference \(p.key)")
            case "cancelled":
                return .failed("the lot's input stock.move:\(id) (key \(p.key)) was cancelled in Tryton: book the lot by hand or discard this posting")
            default:
                // An earlier attempt created it and did not finish: done now, while the order is open.
                guard let s, !s.isClosed else {
                    return .failed("production \(p.orderID) is \(s.map { "\($0)" } ?? "gone") in Tryton: the lot's input stock.move:\(id) stays draft")
                }
                let left = try await doInput(id, order: p.orderID, ctx: ctx)
                return .delivered(documentRef: "stock.move:\(id)", note: "finished the lot's input an earlier attempt created" + (left.map { "; \($0)" } ?? ""))
            }
        }
        guard let s else { return .failed("production \(p.orderID) does not exist in Tryton") }
        if s.isClosed { return .failed("production \(p.orderID) is \(s) in Tryton: no lot may be booked on it (the review queue takes late data)") }
        let lotID = try await lot(number: number, product: p.productID, ctx: ctx)
        let day = TrytonJSON.date(p.postingDate)
        let common: [String: Any] = ["product": p.productID, "unit": p.unitID, "quantity": p.quantity, "company": p.companyID,
                                     "planned_date": day, "effective_date": day]
        var input = common
        input["from_location"] = p.fromLocationID
        input["to_location"] = p.toLocationID
        input["production_input"] = p.orderID
        input["lot"] = lotID
        input["millwright_key"] = p.key
        var unlotted = common
        unlotted["from_location"] = p.toLocationID
        unlotted["to_location"] = p.fromLocationID
        unlotted["production_output"] = p.orderID
        unlotted["unit_price"] = TrytonJSON.decimal(0)
        unlotted["millwright_key"] = p.key + "/unlotted"
        if let currency = p.currencyID { unlotted["currency"] = currency }
        let created = try await client.call("model.stock.move.create", [[input, unlotted], ctx])
        guard let ids = created as? [Any], let id = TrytonJSON.int(ids.first) else {
            throw .unexpectedAnswer(method: "model.stock.move.create", detail: "\(created)")
        }
        let left = try await doInput(id, order: p.orderID, ctx: ctx)
        return .delivered(documentRef: "stock.move:\(id)", note: "lot \(number) (stock.lot:\(lotID)) booked as the input of \(p.quantity), the same quantity returned without a lot"
                          + (left.map { "; the input \($0)" } ?? ""))
    }

    /// An input added to a running production is draft: reserved from the lot's stock and done
    /// (consumed), like a counted consumption. A lot with too little in the input's location stays
    /// draft, and the posting delivered with the reason: the move exists, the shortage is the
    /// planner's (the lot's receipt missing in the ERP, most often).
    func doInput(_ id: Int64, order: Int64, ctx: [String: Any]) async throws(TrytonError) -> String? {
        do {
            _ = try await client.call("model.production.assign_try", [[order], ctx])
            _ = try await client.call("model.stock.move.do", [[id], ctx])
            return nil
        } catch .refused(_, _, let message) {
            return "left draft: \(message)"
        }
    }
}

extension TrytonConnector {
    /// Applies an inspection result to its lot through the `millwright` module's
    /// `stock.lot.millwright_quality_result`, in one Tryton transaction: a failed result moves the
    /// lot's quantity in the warehouse storage to the hold location (outside every warehouse, so
    /// nothing is assigned from it) and marks the lot held; a passed one moves it back and marks it
    /// released. The move carries the result's key, so a retry after a lost answer changes nothing
    /// more; a result older than the one applied last is superseded and changes nothing.
    func deliverLotQuality(_ p: LotQualityPayload) async throws(TrytonError) -> DeliveryOutcome {
        guard let holdLocation else {
            return .failed("no hold location: set erp.tryton.hold_location to the code of a Tryton location outside the warehouse, then replay")
        }
        let ctx = try await client.context()
        let holds = try await searchRead("stock.location", [["code", "=", holdLocation]], ["id"], ctx)
        guard let hold = TrytonJSON.int(holds.first?["id"]) else {
            return .failed("Tryton has no location with code \(holdLocation) (erp.tryton.hold_location): create it outside the warehouse, then replay")
        }
        let lots = try await searchRead("stock.lot", [["number", "=", p.lot], ["product", "=", p.productID]], ["id"], ctx)
        guard let lot = lots.compactMap({ TrytonJSON.int($0["id"]) }).min() else {
            return .failed("Tryton has no lot \(p.lot) of \(p.productCode) yet (its confirmation not delivered?): replay once it is")
        }
        let answer = try await client.call("model.stock.lot.millwright_quality_result",
                                           [lot, p.result.rawValue, p.at.rfc3339, p.note ?? "", p.storageLocationID, hold, p.key, ctx])
        guard let r = answer as? [String: Any], let applied = r["applied"] as? String else {
            throw .unexpectedAnswer(method: "model.stock.lot.millwright_quality_result", detail: "\(answer)")
        }
        let moved = (r["moved"] as? NSNumber)?.doubleValue ?? 0
        let reserved = (r["reserved"] as? NSNumber)?.doubleValue ?? 0
        let state = r["state"] as? String ?? "?"
        let ref = "stock.lot:\(lot)"
        switch applied {
        case "before": return .found(documentRef: ref, note: "applied before (key \(p.key)): lot \(state)")
        case "superseded": return .delivered(documentRef: ref, note: "superseded by a later inspection: lot stays \(state), nothing moved")
        default:
            return .delivered(documentRef: ref, note: "lot \(p.lot) \(state) (inspection \(p.inspection) \(p.result.rawValue)), \(moved) moved "
                              + (p.result == .fail ? "to the hold location \(holdLocation)" : "back to storage")
                              + (reserved > 0 ? "; \(reserved) reserved by other moves in Tryton, not moved" : ""))
        }
    }
}
