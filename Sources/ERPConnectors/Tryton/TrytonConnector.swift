import CentralSync
import Foundation
import Logging
import MillwrightCore

/// Tryton as a postings target and a master data source.
///
/// Quantities become stock moves on the production: yield and scrap are outputs (to storage, to a
/// waste location), consumption corrections are inputs. Tryton has no idempotency key, so every
/// move carries `millwright_key` (the `millwright` Tryton module in deploy/tryton) and each attempt
/// searches for it before creating: a timeout after Tryton committed never doubles a move.
public final class TrytonConnector: PostingConnector, MasterDataSource {
    let client: TrytonClient
    let logger: Logger

    public init(client: TrytonClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    // MARK: postings

    public func deliver(_ posting: Posting) async -> DeliveryOutcome {
        do {
            return try await deliverMove(posting)
        } catch {
            return .failed("\(error)")
        }
    }

    func deliverMove(_ posting: Posting) async throws(TrytonError) -> DeliveryOutcome {
        guard ["yield", "scrap", "consumption"].contains(posting.kind) else {
            return .failed("the Tryton connector posts yield, scrap and consumption; route \(posting.kind) to another target")
        }
        let p = PayloadTemplate.fields(posting.payload)
        let key = (p["key"] as? String) ?? posting.idempotencyKey
        let ctx = try await client.context()
        // Look up by reference first: an earlier attempt may have been applied without us hearing back.
        let found = try await client.call("model.stock.move.search", [[["millwright_key", "=", key]], 0, 1, NSNull(), ctx])
        if let ids = found as? [Any], let id = TrytonJSON.int(ids.first) {
            return .delivered(documentRef: "stock.move:\(id)", note: "found by reference \(key)")
        }
        guard let order = TrytonJSON.int(p["order_id"]), let product = TrytonJSON.int(p["product_id"]),
              let unit = TrytonJSON.int(p["unit_id"]), let quantity = TrytonJSON.number(p["quantity"]),
              let from = TrytonJSON.int(p["from_location_id"]), let to = TrytonJSON.int(p["to_location_id"]),
              let company = TrytonJSON.int(p["company_id"]), let day = p["posting_date"] as? String else {
            return .failed("the payload lacks order_id, product_id, unit_id, quantity, from/to_location_id, company_id or posting_date: fix it and replay")
        }
        guard quantity > 0 else { return .failed("a stock move needs a positive quantity (got \(quantity)): reverse by hand in Tryton") }
        // The order must still be open: Tryton would refuse a move on a done production anyway, but say why.
        let state = try await client.call("model.production.read", [[order], ["state"], ctx])
        if let rows = state as? [[String: Any]], let s = rows.first?["state"] as? String, s == "done" || s == "cancelled" {
            return .failed("production \(order) is \(s) in Tryton: nothing may be posted to it (the review queue takes late data)")
        }
        var move: [String: Any] = [
            "product": product, "unit": unit, "quantity": quantity, "from_location": from, "to_location": to,
            "company": company, "planned_date": TrytonJSON.date(day), "effective_date": TrytonJSON.date(day),
            "millwright_key": key,
        ]
        move[posting.kind == "consumption" ? "production_input" : "production_output"] = order
        // Tryton prices an output to storage (currency and unit price required) but not one to a
        // waste location (a currency there is refused), nor an input.
        if let price = TrytonJSON.number(p["unit_price"]) {
            move["unit_price"] = TrytonJSON.decimal(price)
            if let currency = TrytonJSON.int(p["currency_id"]) { move["currency"] = currency }
        }
        let created = try await client.call("model.stock.move.create", [[move], ctx])
        guard let ids = created as? [Any], let id = TrytonJSON.int(ids.first) else {
            throw .unexpectedAnswer(method: "model.stock.move.create", detail: "\(created)")
        }
        if posting.kind == "consumption" {
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

    // MARK: master data

    public func fetchOrders(workCenters: Set<String>, since: Timestamp?) async throws -> [ERPOrder] {
        try await fetch(workCenters: workCenters, since: since)
    }

    func fetch(workCenters: Set<String>, since: Timestamp?) async throws(TrytonError) -> [ERPOrder] {
        let ctx = try await client.context()
        let centers = try await searchRead("production.work.center", [["name", "in", Array(workCenters)]], ["id", "name"], ctx)
        let centerNames = Dictionary(uniqueKeysWithValues: centers.compactMap { r in TrytonJSON.int(r["id"]).map { ($0, r["name"] as? String ?? "") } })
        guard !centerNames.isEmpty else { return [] }
        var workDomain: [Any] = [["work_center", "in", Array(centerNames.keys)]]
        if let since { workDomain.append(["production.write_date", ">=", Self.datetime(since)]) }
        let works = try await searchRead("production.work", workDomain, ["id", "production", "operation", "work_center", "state"], ctx)
        let orderIDs = Set(works.compactMap { TrytonJSON.int($0["production"]) })
        guard !orderIDs.isEmpty else { return [] }
        let orders = try await searchRead("production", [["id", "in", Array(orderIDs)]],
                                          ["id", "number", "reference", "state", "product", "unit", "quantity", "company",
                                           "location", "warehouse", "inputs", "works"], ctx)
        // Everything the orders point at, read in a few calls.
        let allWorks = try await read("production.work", orders.flatMap { ($0["works"] as? [Any] ?? []).compactMap(TrytonJSON.int) },
                                      ["id", "operation", "work_center", "state"], ctx)
        let operations = try await names("production.routing.operation", allWorks.compactMap { TrytonJSON.int($0["operation"]) }, ctx)
        let allCenters = try await names("production.work.center", allWorks.compactMap { TrytonJSON.int($0["work_center"]) }, ctx)
        let inputs = try await read("stock.move", orders.flatMap { ($0["inputs"] as? [Any] ?? []).compactMap(TrytonJSON.int) },
                                    ["id", "product", "unit", "quantity", "state"], ctx)
        let productIDs = Set(orders.compactMap { TrytonJSON.int($0["product"]) } + inputs.compactMap { TrytonJSON.int($0["product"]) })
        let products = try await read("product.product", Array(productIDs), ["id", "code", "cost_price"], ctx)
        let costs = Dictionary(uniqueKeysWithValues: products.compactMap { r in TrytonJSON.int(r["id"]).map { ($0, TrytonJSON.number(r["cost_price"]) ?? 0) } })
        let companies = try await read("company.company", Array(Set(orders.compactMap { TrytonJSON.int($0["company"]) })), ["id", "currency"], ctx)
        let currencies = Dictionary(uniqueKeysWithValues: companies.compactMap { r in TrytonJSON.int(r["id"]).map { ($0, TrytonJSON.int(r["currency"])) } })
        let codes = Dictionary(uniqueKeysWithValues: products.compactMap { r in TrytonJSON.int(r["id"]).map { ($0, r["code"] as? String ?? "") } })
        let warehouses = try await read("stock.location", Array(Set(orders.compactMap { TrytonJSON.int($0["warehouse"]) })),
                                        ["id", "storage_location", "waste_locations"], ctx)
        let worksByID = Dictionary(uniqueKeysWithValues: allWorks.compactMap { r in TrytonJSON.int(r["id"]).map { ($0, r) } })
        let inputsByID = Dictionary(uniqueKeysWithValues: inputs.compactMap { r in TrytonJSON.int(r["id"]).map { ($0, r) } })
        let whByID = Dictionary(uniqueKeysWithValues: warehouses.compactMap { r in TrytonJSON.int(r["id"]).map { ($0, r) } })

        return orders.compactMap { o -> ERPOrder? in
            guard let id = TrytonJSON.int(o["id"]), let product = TrytonJSON.int(o["product"]), let wh = TrytonJSON.int(o["warehouse"]),
                  let location = TrytonJSON.int(o["location"]), let storage = TrytonJSON.int(whByID[wh]?["storage_location"]) else { return nil }
            var planned: [String: ERPOrder.PlannedInput] = [:]
            for i in (o["inputs"] as? [Any] ?? []).compactMap(TrytonJSON.int) {
                guard let m = inputsByID[i], (m["state"] as? String) != "cancelled", let pid = TrytonJSON.int(m["product"]),
                      let code = codes[pid], let unit = TrytonJSON.int(m["unit"]) else { continue }
                planned[code, default: .init(productID: pid, unitID: unit, quantity: 0)].quantity += TrytonJSON.number(m["quantity"]) ?? 0
            }
            let works = (o["works"] as? [Any] ?? []).compactMap(TrytonJSON.int).compactMap { wid -> ERPWork? in
                guard let w = worksByID[wid] else { return nil }
                return ERPWork(id: wid, operation: TrytonJSON.int(w["operation"]).flatMap { operations[$0] } ?? "",
                               workCenter: TrytonJSON.int(w["work_center"]).flatMap { allCenters[$0] } ?? "", state: w["state"] as? String ?? "")
            }
            return ERPOrder(id: id, number: o["number"] as? String ?? "\(id)", reference: o["reference"] as? String ?? "",
                            state: o["state"] as? String ?? "", productID: product, productCode: codes[product] ?? "",
                            quantity: TrytonJSON.number(o["quantity"]) ?? 0, unitID: TrytonJSON.int(o["unit"]) ?? 0,
                            companyID: TrytonJSON.int(o["company"]) ?? 0, productionLocationID: location, storageLocationID: storage,
                            scrapLocationID: (whByID[wh]?["waste_locations"] as? [Any])?.compactMap(TrytonJSON.int).first,
                            plannedInputs: planned, works: works,
                            currencyID: TrytonJSON.int(o["company"]).flatMap { currencies[$0] ?? nil }, unitCost: costs[product])
        }
    }

    static func datetime(_ t: Timestamp) -> [String: Any] {
        let s = t.rfc3339  // 2026-11-24T08:00:00.000Z
        let d = s.prefix(10).split(separator: "-").compactMap { Int($0) }
        let h = s.dropFirst(11).prefix(8).split(separator: ":").compactMap { Int($0) }
        return ["__class__": "datetime", "year": d[0], "month": d[1], "day": d[2], "hour": h[0], "minute": h[1], "second": h[2], "microsecond": 0]
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
