import Foundation
import MillwrightCore
import Reconciliation

extension ReconcilePass {
    /// Derived versus posted per order and kind (and material), from the same derivation the pass uses.
    /// For consumption, the planned inputs already in the ERP count as posted.
    public func ledger(now: Timestamp = .now()) async throws -> [LedgerEntry] {
        let orders = try await store.orders()
        let (assignments, _) = try await self.assignments(orders: orders)
        let offsets = try await events.edgeClockOffsets()
        let (lines, _) = reconciler.derive(try await observations(offsets: offsets, now: now), assignments: assignments)
        struct Key: Hashable { var order: Int64; var kind: String; var material: String }
        var entries: [Key: LedgerEntry] = [:]
        func entry(_ k: Key) -> LedgerEntry {
            entries[k] ?? LedgerEntry(orderID: k.order, kind: k.kind, material: k.material, derived: 0, posted: 0, inFlight: 0, inReview: 0, open: 0)
        }
        for (line, d) in lines {
            let k = Key(order: line.orderID, kind: line.kind.rawValue, material: line.material)
            var e = entry(k)
            e.derived += d.quantity
            entries[k] = e
        }
        let all = try await store.postings()
        // The MES's confirmed figures (`mes.confirmations`): postings without a ledger line.
        var confirmed: [ConfirmationCheck.Operation: Double] = [:]
        for p in all where p.line.isEmpty && p.status != .dead {
            guard let kind = p.kind.quantityKind, kind != .consumption, ConfirmationPlanner.confirmationID(of: p) != nil,
                  let payload = try? MovePayload.decode(p.payload, as: p.kind), let order = p.orderID else { continue }
            let k = Key(order: order, kind: kind.rawValue, material: "")
            var e = entry(k)
            e.confirmed += p.quantity
            if p.status.isDelivered { e.posted += p.quantity } else { e.inFlight += p.quantity }
            entries[k] = e
            confirmed[.init(orderID: order, workID: payload.workID, kind: kind), default: 0] += p.quantity
        }
        for p in all where !p.line.isEmpty {
            guard let line = LineKey(parsing: p.line) else { continue }
            let k = Key(order: line.orderID, kind: line.kind.rawValue, material: line.material)
            var e = entry(k)
            if p.status.isDelivered { e.posted += p.quantity } else { e.inFlight += p.quantity }
            entries[k] = e
        }
        for (id, o) in orders {
            for (material, input) in o.plannedInputs {
                let k = Key(order: id, kind: QuantityKind.consumption.rawValue, material: material)
                guard entries[k] != nil || lines.keys.contains(where: { $0.orderID == id && $0.kind == .consumption }) else { continue }
                var e = entry(k)
                e.posted += input.quantity
                entries[k] = e
            }
        }
        for r in try await store.reviewItems() {
            guard let line = LineKey(parsing: r.line) else { continue }
            let k = Key(order: line.orderID, kind: line.kind.rawValue, material: line.material)
            var e = entry(k)
            e.inReview += r.quantity
            entries[k] = e
        }
        var discrepancies: [Key: [Discrepancy]] = [:]
        var compared: [Key: Int] = [:]
        let confirms = !config.postsCountedQuantities
        if confirms {
            var counted: [ConfirmationCheck.Operation: Double] = [:]
            for (line, d) in lines where line.kind != .consumption {
                counted[.init(orderID: line.orderID, workID: line.workID, kind: line.kind), default: 0] += d.quantity
            }
            // Final figures: the order is closed in the ERP, or ran and runs on no equipment any more
            // (for longer than the grace, so the last counts are in).
            let ends = Reconciler.orderEnds(assignments)
            let ended = Set(orders.values.filter { o in
                o.isClosed || (ends[o.id].flatMap { $0 }.map { $0 + config.grace <= now } ?? false)
            }.map(\.id))
            let check = ConfirmationCheck.compare(confirmed: confirmed, counted: counted, ended: ended, tolerance: config.confirmationTolerance)
            for d in check.discrepancies {
                discrepancies[Key(order: d.orderID, kind: d.kind.rawValue, material: ""), default: []].append(d)
            }
            for op in check.compared { compared[Key(order: op.orderID, kind: op.kind.rawValue, material: ""), default: 0] += 1 }
        }
        // What is neither posted nor parked is open: not due yet (or not settled). With the MES as
        // the source of record, the machines' yield and scrap are the check: never open.
        return entries.values.map { e -> LedgerEntry in
            var e = e
            let checkOnly = confirms && e.kind != QuantityKind.consumption.rawValue
            e.open = checkOnly ? 0 : ((e.derived - e.posted - e.inFlight - e.inReview) * 1e6).rounded() / 1e6
            let k = Key(order: e.orderID, kind: e.kind, material: e.material)
            e.discrepancies = discrepancies[k] ?? []
            e.compared = compared[k] ?? 0
            return e
        }.sorted { ($0.orderID, $0.kind, $0.material) < ($1.orderID, $1.kind, $1.material) }
    }
}
