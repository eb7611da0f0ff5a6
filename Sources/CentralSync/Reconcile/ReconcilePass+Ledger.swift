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
        for p in try await store.postings() where !p.line.isEmpty {
            guard let line = LineKey(parsing: p.line) else { continue }
            let k = Key(order: line.orderID, kind: line.kind.rawValue, material: line.material)
            var e = entry(k)
            if p.status == .acked || p.status == .confirmed { e.posted += p.quantity } else { e.inFlight += p.quantity }
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
        // What is neither posted nor parked is open: not due yet (or not settled).
        return entries.values.map { e -> LedgerEntry in
            var e = e
            e.open = ((e.derived - e.posted - e.inFlight - e.inReview) * 1e6).rounded() / 1e6
            return e
        }.sorted { ($0.orderID, $0.kind, $0.material) < ($1.orderID, $1.kind, $1.material) }
    }
}
