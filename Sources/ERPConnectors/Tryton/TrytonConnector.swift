import CentralSync
import Foundation
import Logging
import MillwrightCore

/// Tryton as a postings target and a master data source.
///
/// Quantities become stock moves on the production: yield and scrap are outputs (to storage, to a
/// waste location) and replace the output Tryton planned from the BOM, which is cancelled;
/// consumption beyond the planned inputs is an input, a shortfall a return (an output of the
/// material back to storage). An MES's confirmed time is a done work cycle on the order's work
/// (`TrytonConnector+WorkCycle`); lots are Tryton stock lots (`TrytonConnector+Lots`). docs/SYNC.md shows the documents before and after. Tryton has no idempotency key, so every
/// move carries `millwright_key` (the `millwright` Tryton module in deploy/tryton) and each attempt
/// searches for it before creating: a timeout after Tryton committed never doubles a move.
public final class TrytonConnector: PostingConnector {
    let client: TrytonClient
    /// The code of the location a held lot is moved to (`erp.tryton.hold_location`).
    let holdLocation: String?
    let logger: Logger

    public init(client: TrytonClient, holdLocation: String? = nil, logger: Logger) {
        self.client = client
        self.holdLocation = holdLocation
        self.logger = logger
    }

    // MARK: postings

    public func deliver(_ posting: Posting) async -> DeliveryOutcome {
        do {
            switch posting.kind {
            case .workCycle: return try await deliverCycle(try Self.payload(WorkCyclePayload.self, of: posting))
            case .inputLot: return try await deliverInputLot(try Self.payload(MovePayload.self, of: posting))
            case .lotQuality: return try await deliverLotQuality(try Self.payload(LotQualityPayload.self, of: posting))
            case .yield, .scrap, .consumption: return try await deliverMove(posting, try Self.payload(MovePayload.self, of: posting))
            default:
                return .failed("the Tryton connector posts yield, scrap, consumption, input lots, lot quality and work cycles; route \(posting.kind) to another target")
            }
        } catch let error as PayloadError {
            return .failed("\(error): fix it and replay")
        } catch {
            return .failed("\(error)")
        }
    }

    /// The posting's payload, decoded and checked against its kind and key. It was checked when it
    /// was built or edited; a row from before that check is refused with the field, before
    /// anything reaches Tryton.
    static func payload<P: PostingPayload>(_: P.Type, of posting: Posting) throws(PayloadError) -> P {
        let p = try P.decode(posting.payload, as: posting.kind)
        try p.check(kind: posting.kind, key: posting.idempotencyKey)
        return p
    }

    func deliverMove(_ posting: Posting, _ p: MovePayload) async throws(TrytonError) -> DeliveryOutcome {
        let key = p.key
        let order = p.orderID, product = p.productID
        let ctx = try await client.context()
        // Look up by reference first: an earlier attempt may have been applied without us hearing back.
        let found = try await client.call("model.stock.move.search", [[["millwright_key", "=", key]], 0, 1, NSNull(), ctx])
        if let ids = found as? [Any], let id = TrytonJSON.int(ids.first) {
            return .found(documentRef: "stock.move:\(id)", note: "found by reference \(key)")
        }
        // The order must still be open: Tryton would refuse a move on a done production anyway, but say why.
        let state = try await client.call("model.production.read", [[order], ["state"], ctx])
        if let rows = state as? [[String: Any]], let s = (rows.first?["state"] as? String).flatMap(OrderState.init(rawValue:)), s.isClosed {
            return .failed("production \(order) is \(s) in Tryton: nothing may be posted to it (the review queue takes late data)")
        }
        let isInput = posting.kind == .consumption && p.direction == .issue
        if posting.kind == .yield {
            // Counted output replaces the plan: the output Tryton planned from the BOM would otherwise
            // be booked beside the counts when the order is done (stock = plan + counted).
            try await cancelPlannedOutputs(order: order, product: product, ctx: ctx)
        }
        var move: [String: Any] = [
            "product": product, "unit": p.unitID, "quantity": p.quantity, "from_location": p.fromLocationID, "to_location": p.toLocationID,
            "company": p.companyID, "planned_date": TrytonJSON.date(p.postingDate), "effective_date": TrytonJSON.date(p.postingDate),
            "millwright_key": key,
        ]
        // An MES's output lot: the move books it (Tryton's lot trace then leads to the order's inputs).
        if let number = p.lot { move["lot"] = try await lot(number: number, product: product, ctx: ctx) }
        // A return of unused material is an output of the production (booked when it is done), like yield.
        move[isInput ? "production_input" : "production_output"] = order
        // Tryton prices an output to storage (currency and unit price required) but not one to a
        // waste location (a currency there is refused), nor an input.
        if let price = p.unitPrice {
            move["unit_price"] = TrytonJSON.decimal(price)
            if let currency = p.currencyID { move["currency"] = currency }
        }
        let created = try await client.call("model.stock.move.create", [[move], ctx])
        guard let ids = created as? [Any], let id = TrytonJSON.int(ids.first) else {
            throw .unexpectedAnswer(method: "model.stock.move.create", detail: "\(created)")
        }
        if isInput {
            // An input added to a running production stays draft: reserve it, then book it done.
            // The move exists either way (the posting is delivered); a shortage leaves it for the planner.
            do {
                _ = try await client.call("model.production.assign_try", [[order], ctx])
                _ = try await client.call("model.stock.move.do", [[id], ctx])
            } catch {
                return .delivered(documentRef: "stock.move:\(id)", note: "created, left draft (\(error))")
            }
        }
        return .delivered(documentRef: "stock.move:\(id)", note: "created")
    }

    /// Cancels the production's planned outputs of `product` (no `millwright_key`, not yet done,
    /// not to a waste location). Idempotent: a second call finds nothing left to cancel.
    func cancelPlannedOutputs(order: Int64, product: Int64, ctx: [String: Any]) async throws(TrytonError) {
        let planned = try await client.call("model.stock.move.search", [[
            ["production_output", "=", order], ["product", "=", product], ["millwright_key", "=", NSNull()],
            ["state", "in", ["staging", "draft", "assigned"]], ["to_location.type", "!=", "lost_found"],
        ], 0, NSNull(), NSNull(), ctx])
        guard let ids = planned as? [Any] else { throw .unexpectedAnswer(method: "model.stock.move.search", detail: "\(planned)") }
        let moves = ids.compactMap(TrytonJSON.int)
        guard !moves.isEmpty else { return }
        _ = try await client.call("model.stock.move.cancel", [moves, ctx])
        logger.info("planned outputs cancelled: counted output replaces them", metadata: [
            "production": "\(order)", "moves": "\(moves)"])
    }

    func searchRead(_ model: String, _ domain: [Any], _ fields: [String], _ ctx: [String: Any]) async throws(TrytonError) -> [[String: Any]] {
        let r = try await client.call("model.\(model).search_read", [domain, 0, NSNull(), NSNull(), fields, ctx])
        guard let rows = r as? [[String: Any]] else { throw .unexpectedAnswer(method: "model.\(model).search_read", detail: "\(r)") }
        return rows
    }

    func read(_ model: String, _ ids: [Int64], _ fields: [String], _ ctx: [String: Any]) async throws(TrytonError) -> [[String: Any]] {
        guard !ids.isEmpty else { return [] }
        let r = try await client.call("model.\(model).read", [Array(Set(ids)).sorted(), fields, ctx])
        guard let rows = r as? [[String: Any]] else { throw .unexpectedAnswer(method: "model.\(model).read", detail: "\(r)") }
        return rows
    }

    func names(_ model: String, _ ids: [Int64], _ ctx: [String: Any]) async throws(TrytonError) -> [Int64: String] {
        let rows = try await read(model, ids, ["id", "rec_name"], ctx)
        return Dictionary(uniqueKeysWithValues: rows.compactMap { r in TrytonJSON.int(r["id"]).map { ($0, r["rec_name"] as? String ?? "") } })
    }
}
