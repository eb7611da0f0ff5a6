import CentralSync
import Foundation
import MillwrightCore

/// Tryton as the master data source: work centers (a tree), products, and the productions with a
/// work on the mapped centers. Everything is matched by id; names are only carried for people.
extension TrytonConnector: MasterDataSource {
    public func workCenters() async throws -> [ERPWorkCenter] {
        try await readWorkCenters()
    }

    func readWorkCenters() async throws(TrytonError) -> [ERPWorkCenter] {
        let ctx = try await client.context()
        // rec_name is the path Tryton shows ("Line 2 / Press 2"); inactive centers are included so
        // an order on a retired center still imports.
        let rows = try await searchRead("production.work.center", [["active", "in", [true, false]]],
                                        ["id", "name", "rec_name", "parent"], ctx)
        return rows.compactMap { r in
            guard let id = TrytonJSON.int(r["id"]) else { return nil }
            let name = r["name"] as? String ?? ""
            return ERPWorkCenter(id: id, name: name, path: r["rec_name"] as? String ?? name, parentID: TrytonJSON.int(r["parent"]))
        }
    }

    public func knownProductCodes(_ codes: Set<String>) async throws -> Set<String> {
        try await readProductCodes(codes)
    }

    func readProductCodes(_ codes: Set<String>) async throws(TrytonError) -> Set<String> {
        guard !codes.isEmpty else { return [] }
        let ctx = try await client.context()
        let rows = try await searchRead("product.product", [["code", "in", Array(codes).sorted()]], ["id", "code"], ctx)
        return Set(rows.compactMap { $0["code"] as? String })
    }

    public func fetchOrders(workCenterIDs: Set<Int64>, known: Set<Int64>, since: Timestamp?) async throws -> [ERPOrder] {
        try await fetch(workCenterIDs: workCenterIDs, known: known, since: since)
    }

    func fetch(workCenterIDs: Set<Int64>, known: Set<Int64>, since: Timestamp?) async throws(TrytonError) -> [ERPOrder] {
        guard !workCenterIDs.isEmpty else { return [] }
        let ctx = try await client.context()
        var workDomain: [Any] = [["work_center", "in", Array(workCenterIDs).sorted()]]
        if let since { workDomain.append(["production.write_date", ">=", Self.datetime(since)]) }
        let works = try await searchRead("production.work", workDomain, ["id", "production"], ctx)
        var orderIDs = Set(works.compactMap { TrytonJSON.int($0["production"]) })
        if !known.isEmpty {
            // Cancelling a production, or putting it back to draft, deletes its unstarted works.
            var knownDomain: [Any] = [["id", "in", Array(known).sorted()]]
            if let since { knownDomain.append(["write_date", ">=", Self.datetime(since)]) }
            orderIDs.formUnion(try await searchRead("production", knownDomain, ["id"], ctx).compactMap { TrytonJSON.int($0["id"]) })
        }
        guard !orderIDs.isEmpty else { return [] }
        let orders = try await searchRead("production", [["id", "in", Array(orderIDs).sorted()]],
                                          ["id", "number", "reference", "state", "product", "unit", "quantity", "company",
                                           "location", "warehouse", "inputs", "works"], ctx)
        // Everything the orders point at, read in a few calls.
        let allWorks = try await read("production.work", orders.flatMap { ($0["works"] as? [Any] ?? []).compactMap(TrytonJSON.int) },
                                      ["id", "operation", "work_center", "state"], ctx)
        let operations = try await names("production.routing.operation", allWorks.compactMap { TrytonJSON.int($0["operation"]) }, ctx)
        let allCenters = try await names("production.work.center", allWorks.compactMap { TrytonJSON.int($0["work_center"]) }, ctx)
        let inputs = try await read("stock.move", orders.flatMap { ($0["inputs"] as? [Any] ?? []).compactMap(TrytonJSON.int) },
                                    ["id", "product", "unit", "quantity", "state", "millwright_key"], ctx)
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

        // A state this version does not know fails the import with its name: guessing whether the
        // order is closed could post to a finished order or hold back a running one.
        for o in orders {
            let state = o["state"] as? String ?? ""
            guard OrderState(rawValue: state) != nil else {
                throw .unexpectedAnswer(method: "model.production.read", detail: "production \(TrytonJSON.int(o["id"]).map(String.init) ?? "?") has the state \"\(state)\", which this version does not know (\(OrderState.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
        }
        return orders.compactMap { o -> ERPOrder? in
            guard let id = TrytonJSON.int(o["id"]), let state = (o["state"] as? String).flatMap(OrderState.init(rawValue:)), let product = TrytonJSON.int(o["product"]), let wh = TrytonJSON.int(o["warehouse"]),
                  let location = TrytonJSON.int(o["location"]), let storage = TrytonJSON.int(whByID[wh]?["storage_location"]) else {
                // Nothing can be posted without these: left out of the import, and said so each time.
                logger.warning("production left out of the ERP import: it lacks a product, a warehouse with a storage location, or a production location",
                               metadata: ["production": "\(TrytonJSON.int(o["id"]).map(String.init) ?? "?")", "number": "\(o["number"] as? String ?? "")"])
                return nil
            }
            // The plan is what the planner entered (from the BOM): Millwright's own corrections, which
            // carry a key, are postings and counted as such, not as plan.
            var planned: [String: ERPOrder.PlannedInput] = [:]
            for i in (o["inputs"] as? [Any] ?? []).compactMap(TrytonJSON.int) {
                guard let m = inputsByID[i], (m["state"] as? String) != "cancelled", !Self.isKeyed(m), let pid = TrytonJSON.int(m["product"]),
                      let code = codes[pid], let unit = TrytonJSON.int(m["unit"]) else { continue }
                planned[code, default: .init(productID: pid, unitID: unit, quantity: 0)].quantity += TrytonJSON.number(m["quantity"]) ?? 0
            }
            let works = (o["works"] as? [Any] ?? []).compactMap(TrytonJSON.int).compactMap { wid -> ERPWork? in
                guard let w = worksByID[wid] else { return nil }
                let center = TrytonJSON.int(w["work_center"])
                return ERPWork(id: wid, operation: TrytonJSON.int(w["operation"]).flatMap { operations[$0] } ?? "",
                               workCenter: center.flatMap { allCenters[$0] } ?? "", workCenterID: center, state: w["state"] as? String ?? "")
            }
            return ERPOrder(id: id, number: o["number"] as? String ?? "\(id)", reference: o["reference"] as? String ?? "",
                            state: state, productID: product, productCode: codes[product] ?? "",
                            quantity: TrytonJSON.number(o["quantity"]) ?? 0, unitID: TrytonJSON.int(o["unit"]) ?? 0,
                            companyID: TrytonJSON.int(o["company"]) ?? 0, productionLocationID: location, storageLocationID: storage,
                            scrapLocationID: (whByID[wh]?["waste_locations"] as? [Any])?.compactMap(TrytonJSON.int).first,
                            plannedInputs: planned, works: works,
                            currencyID: TrytonJSON.int(o["company"]).flatMap { currencies[$0] ?? nil }, unitCost: costs[product])
        }
    }

    static func isKeyed(_ move: [String: Any]) -> Bool {
        (move["millwright_key"] as? String).map { !$0.isEmpty } ?? false
    }

    static func datetime(_ t: Timestamp) -> [String: Any] {
        let s = t.rfc3339  // 2026-11-24T08:00:00.000Z
        let d = s.prefix(10).split(separator: "-").compactMap { Int($0) }
        let h = s.dropFirst(11).prefix(8).split(separator: ":").compactMap { Int($0) }
        return ["__class__": "datetime", "year": d[0], "month": d[1], "day": d[2], "hour": h[0], "minute": h[1], "second": h[2], "microsecond": 0]
    }
}
