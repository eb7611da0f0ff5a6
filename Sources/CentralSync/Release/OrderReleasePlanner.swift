import MillwrightCore

/// Decides which versions of which orders the MES is sent: an order the ERP released goes to every
/// mapped equipment its operations run on; a change an MES acts on (quantity, operations, bill of
/// materials, status) becomes the next version; completion, cancellation and a return to draft are
/// versions too, sent only where the order was released before; equipment an earlier version went
/// to and no operation runs on any more is sent `withdrawn`.
///
/// Why pure, with what was sent as input: the versions are decided from the outbox itself (the
/// latest release posting per order and equipment), so a pass repeated after a crash decides the
/// same keys and the outbox adds nothing twice; and every case is a unit test.
public enum OrderReleasePlanner {
    /// What an order in `state` is for an MES.
    public static func status(_ state: OrderState) -> OrderReleasePayload.Status {
        switch state {
        case .waiting, .assigned, .running: .released
        case .done: .completed
        case .cancelled: .cancelled
        case .request, .draft: .withdrawn
        }
    }

    /// The releases to add, given the imported orders and every release posted so far.
    public static func plan(orders: [Int64: ERPOrder], published: [OrderReleasePayload], target: String) throws(PayloadError) -> [NewPosting] {
        var latest: [Int64: [String: OrderReleasePayload]] = [:]
        var highest: [Int64: Int] = [:]
        for p in published {
            if (latest[p.orderID]?[p.equipment]?.version ?? 0) < p.version { latest[p.orderID, default: [:]][p.equipment] = p }
            highest[p.orderID] = max(highest[p.orderID] ?? 0, p.version)
        }
        var out: [NewPosting] = []
        for (id, order) in orders.sorted(by: { $0.key < $1.key }) {
            let sent = latest[id] ?? [:]
            let status = status(order.state)
            let runsOn = Set(order.works.flatMap(\.equipment))
            var copies: [String: OrderReleasePayload.Status] = [:]
            for e in runsOn { copies[e] = status }
            // Equipment no operation runs on any more: withdrawn there, unless the order ended
            // (Tryton deletes a cancelled order's unstarted works: the end is what the MES needs).
            for e in sent.keys where !runsOn.contains(e) { copies[e] = status == .released ? .withdrawn : status }
            let version = (highest[id] ?? 0) + 1
            for (equipment, st) in copies.sorted(by: { $0.key < $1.key }) {
                let release = build(order, equipment: equipment, status: st, version: version)
                if let last = sent[equipment] {
                    // The same content again, or an end already sent (later ERP changes are not the MES's).
                    if last.content == release.content || (last.status != .released && last.status == st) { continue }
                } else if st != .released {
                    continue  // never released here: nothing to complete, cancel or withdraw
                }
                out.append(NewPosting(idempotencyKey: release.key, target: target, kind: .orderRelease, orderID: id,
                                      quantity: order.quantity, payload: try release.encoded(), sources: []))
            }
        }
        return out
    }

    /// The copy of `order` for `equipment`.
    public static func build(_ order: ERPOrder, equipment: String, status: OrderReleasePayload.Status, version: Int) -> OrderReleasePayload {
        OrderReleasePayload(
            key: "\(PostingKind.orderRelease.rawValue):\(order.id):\(equipment):v\(version)", version: version, equipment: equipment,
            status: status, orderID: order.id, orderNumber: order.number, orderReference: order.reference,
            material: .init(code: order.productCode, productID: order.productID, unitID: order.unitID, quantity: order.quantity),
            operations: order.works.sorted { $0.id < $1.id }.map {
                .init(id: $0.id, operation: $0.operation, workCenter: $0.workCenter, workCenterID: $0.workCenterID, equipment: $0.equipment.sorted())
            },
            materials: order.plannedInputs.sorted { $0.key < $1.key }.map {
                .init(code: $0.key, productID: $0.value.productID, unitID: $0.value.unitID, quantity: $0.value.quantity)
            })
    }
}
