import Foundation
import MillwrightCore

/// Decides what one MES confirmation books, from the imported orders alone: a yield move, a scrap
/// move and a work cycle, each a posting with a key made of the confirmation's id, or the reason
/// nothing is booked.
///
/// Why pure: the checks against master data (the order exists, is open, runs the operation) are
/// the ERP-owns-master-data rule, and they are tested without a broker or a store. Keys are
/// `yield:mes:<id>`, `scrap:mes:<id>`, `work_cycle:mes:<id>` and `input_lot:mes:<id>#<n>` for the
/// n-th consumed lot (from 1): a resend finds its postings.
public enum ConfirmationPlanner {
    public static func keys(_ id: String) -> [PostingKind: String] {
        Dictionary(uniqueKeysWithValues: [PostingKind.yield, .scrap, .workCycle].map { ($0, "\($0.rawValue):mes:\(id)") })
    }

    /// The key of the n-th (from 1) consumed lot of confirmation `id`.
    public static func inputLotKey(_ id: String, _ n: Int) -> String { "\(PostingKind.inputLot.rawValue):mes:\(id)#\(n)" }

    /// The confirmation id a posting was booked for, nil for a posting no confirmation made: the
    /// one reading of the key forms `keys` and `inputLotKey` write (the ledger, the status figures
    /// and the lot trace use it).
    public static func confirmationID(of p: Posting) -> String? {
        let prefix = "\(p.kind.rawValue):mes:"
        guard p.idempotencyKey.hasPrefix(prefix) else { return nil }
        let rest = p.idempotencyKey.dropFirst(prefix.count)
        guard p.kind == .inputLot else { return String(rest) }
        guard let hash = rest.lastIndex(of: "#") else { return nil }
        return String(rest[..<hash])
    }

    public static func postings(for c: MESConfirmation, orders: [Int64: ERPOrder],
                                routes: [PostingKind: String]) -> Result<[NewPosting], ConfirmationRefusal> {
        let order: ERPOrder
        switch resolve(c.order, in: orders) {
        case .success(let o): order = o
        case .failure(let r): return .failure(r)
        }
        guard !order.isClosed, order.state != .request, order.state != .draft else {
            return .failure(.orderNotOpen(order: order.number, state: order.state))
        }
        let named = order.works.filter { $0.operation == c.operation }
        let work: ERPWork
        if let id = c.work {
            guard let w = named.first(where: { $0.id == id }) else {
                return .failure(.unknownOperation(order: order.number, operation: "\(c.operation) (work \(id))",
                                                  known: order.works.map { "\($0.operation) (work \($0.id))" }))
            }
            work = w
        } else {
            guard let w = named.first else {
                return .failure(.unknownOperation(order: order.number, operation: c.operation, known: Array(Set(order.works.map(\.operation))).sorted()))
            }
            guard named.count == 1 else {
                return .failure(.ambiguousOperation(order: order.number, operation: c.operation, works: named.map(\.id)))
            }
            work = w
        }
        var inputs: [(ConsumedLot, ERPOrder.PlannedInput)] = []
        for lot in c.consumed {
            guard let input = order.plannedInputs[lot.material] else {
                return .failure(.unknownMaterial(order: order.number, material: lot.material, known: order.plannedInputs.keys.sorted()))
            }
            inputs.append((lot, input))
        }
        let keys = keys(c.id)
        var out: [NewPosting] = []
        for (kind, quantity) in [(PostingKind.yield, c.yield), (.scrap, c.scrap)] where quantity > 0 {
            guard let target = routes[kind] else { return .failure(.notRouted(kind)) }
            let key = keys[kind]!
            let payload = move(kind: kind, key: key, confirmation: c, order: order, work: work, quantity: quantity)
            guard let text = try? payload.encoded() else { return .failure(.invalid(field: kind.rawValue, reason: "cannot be written as a payload")) }
            out.append(NewPosting(idempotencyKey: key, target: target, kind: kind, orderID: order.id, quantity: quantity,
                                  payload: text, sources: ["mes:\(c.id)"]))
        }
        if c.machineSeconds > 0 || c.laborSeconds > 0 {
            guard let target = routes[.workCycle] else { return .failure(.notRouted(.workCycle)) }
            let key = keys[.workCycle]!
            let payload = WorkCyclePayload(key: key, orderID: order.id, orderNumber: order.number, orderReference: order.reference,
                                           workID: work.id, operation: work.operation, confirmation: c.id, machineSeconds: c.machineSeconds,
                                           laborSeconds: c.laborSeconds, endedAt: c.at, by: c.by)
            guard let text = try? payload.encoded() else { return .failure(.invalid(field: "machine_seconds", reason: "cannot be written as a payload")) }
            out.append(NewPosting(idempotencyKey: key, target: target, kind: .workCycle, orderID: order.id,
                                  quantity: c.machineSeconds, payload: text, sources: ["mes:\(c.id)"]))
        }
        for (n, (lot, input)) in zip(1..., inputs) {
            guard let target = routes[.inputLot] else { return .failure(.notRouted(.inputLot)) }
            let key = inputLotKey(c.id, n)
            let payload = MovePayload(key: key, kind: .inputLot, orderID: order.id, orderNumber: order.number, orderReference: order.reference,
                                      companyID: order.companyID, quantity: lot.quantity, postingDate: String(c.at.rfc3339.prefix(10)),
                                      eventTime: c.at, revision: 1, line: "mes confirmation \(c.id)", events: 0, workID: work.id,
                                      currencyID: order.currencyID, productID: input.productID, productCode: lot.material, unitID: input.unitID,
                                      fromLocationID: order.storageLocationID, toLocationID: order.productionLocationID, lot: lot.lot)
            guard let text = try? payload.encoded() else { return .failure(.invalid(field: "consumed", reason: "cannot be written as a payload")) }
            out.append(NewPosting(idempotencyKey: key, target: target, kind: .inputLot, orderID: order.id, quantity: lot.quantity,
                                  payload: text, sources: ["mes:\(c.id)"]))
        }
        return .success(out)
    }

    /// The order a confirmation names: by number first, then by a reference only one order has.
    static func resolve(_ name: String, in orders: [Int64: ERPOrder]) -> Result<ERPOrder, ConfirmationRefusal> {
        if let o = orders.values.first(where: { $0.number == name }) { return .success(o) }
        let byReference = orders.values.filter { $0.reference == name }
        guard let first = byReference.first else { return .failure(.unknownOrder(name)) }
        guard byReference.count == 1 else { return .failure(.ambiguousOrder(name, numbers: byReference.map(\.number).sorted())) }
        return .success(first)
    }

    /// An output move of the order's product: to storage (yield, priced like a counted yield) or to
    /// the waste location (scrap).
    static func move(kind: PostingKind, key: String, confirmation c: MESConfirmation, order: ERPOrder, work: ERPWork,
                     quantity: Double) -> MovePayload {
        let day = String(c.at.rfc3339.prefix(10))
        let toStorage = kind == .yield
        return MovePayload(key: key, kind: kind, orderID: order.id, orderNumber: order.number, orderReference: order.reference,
                           companyID: order.companyID, quantity: quantity, postingDate: day, eventTime: c.at, revision: 1,
                           line: "mes confirmation \(c.id)", events: 0,
                           workID: work.id, currencyID: order.currencyID, unitPrice: toStorage ? (order.unitCost ?? 0) : nil,
                           productID: order.productID, productCode: order.productCode, unitID: order.unitID,
                           fromLocationID: order.productionLocationID,
                           toLocationID: toStorage ? order.storageLocationID : (order.scrapLocationID ?? order.storageLocationID),
                           reason: kind == .scrap ? c.scrapReason : nil, lot: c.lot)
    }
}
