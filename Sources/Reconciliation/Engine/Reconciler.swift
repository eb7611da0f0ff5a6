import MillwrightCore

/// Decides, for every ledger line, what to post and what to park for review. Pure: the same
/// inputs give the same decisions, and the inputs are sets, so arrival order cannot matter.
///
/// It works like a controller: derive what each order is owed from all of its events, compare with
/// what was already posted, and post the difference once the line is due. Late data therefore turns
/// into a correction, never into a second copy.
public struct Reconciler: Sendable {
    public struct Policy: Sendable, Hashable {
        /// The timing tier for yield and scrap declarations.
        public var cadence: Cadence
        /// How long after a bucket ends (in event time) late events may still join it before posting.
        public var grace: Millis

        public init(cadence: Cadence, grace: Millis) {
            self.cadence = cadence
            self.grace = grace
        }
    }

    /// What the ERP says of an order.
    public struct OrderState: Sendable, Hashable {
        /// Done or cancelled in the ERP: nothing may be posted to it.
        public var closed: Bool
        /// The order's planned input quantity per material code (consumption is corrected against it).
        public var plannedInputs: [String: Double]

        public init(closed: Bool, plannedInputs: [String: Double] = [:]) {
            self.closed = closed
            self.plannedInputs = plannedInputs
        }
    }

    public enum Decision: Sendable, Hashable {
        /// Post `quantity` to the line (a first declaration or a correction), dated `postingDate`,
        /// citing the events not cited by any earlier posting of the line.
        case post(LineKey, quantity: Double, postingDate: Timestamp, sources: [EventKey])
        /// Park `quantity` of the line for an operator (0 clears an earlier entry).
        case review(LineKey, quantity: Double, reason: String)
    }

    public var policy: Policy

    public init(policy: Policy) { self.policy = policy }

    /// Sums the attributed shares into ledger lines. What no assignment covers comes back as spans
    /// per equipment, kind, material and gap between assignments.
    public func derive(_ observations: [Observation], assignments: [Assignment]) -> (lines: [LineKey: DerivedLine], unattributed: [UnassignedSpan]) {
        var lines: [LineKey: DerivedLine] = [:]
        var loose: [UnassignedSpan.Gap: UnassignedSpan] = [:]
        // Grouped and sorted once, not per observation.
        let byEquipment = Dictionary(grouping: assignments, by: \.equipment).mapValues { $0.sorted { $0.from < $1.from } }
        for o in observations {
            let sorted = byEquipment[o.equipment] ?? []
            for share in Attribution.split(o, overSorted: sorted) {
                guard let a = share.assignment else {
                    // The gap: after the last assignment that ended by then, before the next one.
                    let after = sorted.last { ($0.to ?? .init(milliseconds: .max)) <= share.time }?.to
                    let before = sorted.first { $0.from > share.time }?.from
                    let k = UnassignedSpan.Gap(equipment: o.equipment, kind: o.kind, material: o.material ?? "", after: after)
                    var span = loose[k] ?? UnassignedSpan(equipment: o.equipment, kind: o.kind, material: o.material ?? "", after: after,
                                                          before: before, from: o.from, to: o.to, quantity: 0, events: [])
                    span.quantity += share.quantity
                    span.from = min(span.from, o.from)
                    span.to = max(span.to, o.to)
                    span.events.insert(o.key)
                    loose[k] = span
                    continue
                }
                let bucket = o.kind == .consumption ? 0 : policy.cadence.bucket(of: share.time)
                let key = LineKey(orderID: a.orderID, workID: o.kind == .consumption ? nil : a.workID,
                                  kind: o.kind, material: o.material ?? "", bucket: bucket)
                lines[key, default: DerivedLine()].quantity += share.quantity
                lines[key]!.sources.insert(o.key)
                lines[key]!.lastTime = max(lines[key]!.lastTime, share.time)
            }
        }
        let spans = loose.values.map { s -> UnassignedSpan in
            var s = s
            s.quantity = roundQuantity(s.quantity)
            return s
        }.sorted { ($0.equipment, $0.from.milliseconds, $0.kind.rawValue, $0.material) < ($1.equipment, $1.from.milliseconds, $1.kind.rawValue, $1.material) }
        return (lines, spans)
    }

    /// - Parameters:
    ///   - posted: per line, the sum of every posting made (whatever its delivery state: a dead
    ///     posting is still owed to the ERP by replay, never re-derived).
    ///   - postedSources: per line, the events already cited by its postings.
    ///   - orderEnded: per order, when its last assignment ended (nil while it still runs).
    public func decide(lines: [LineKey: DerivedLine], posted: [LineKey: Double], postedSources: [LineKey: Set<EventKey>],
                       orders: [Int64: OrderState], orderEnded: [Int64: Timestamp?], now: Timestamp) -> [Decision] {
        var out: [Decision] = []
        let keys = Set(lines.keys).union(posted.keys).sorted()
        for key in keys {
            let derived = lines[key] ?? DerivedLine()
            let state = orders[key.orderID] ?? OrderState(closed: false)
            let baseline = key.kind == .consumption ? state.plannedInputs[key.material] ?? 0 : 0
            let delta = roundQuantity(derived.quantity - baseline - (posted[key] ?? 0))
            let ended: Timestamp?? = orderEnded[key.orderID]
            let endedAt: Timestamp? = ended ?? nil
            let settled = endedAt.map { $0 + policy.grace <= now } ?? false
            guard delta != 0 else {
                out.append(.review(key, quantity: 0, reason: ""))
                continue
            }
            if state.closed {
                out.append(.review(key, quantity: delta, reason: "order closed in the ERP: late data is not posted to a closed order"))
                continue
            }
            if delta < 0 {
                if key.kind == .consumption {
                    // Consumption only grows while the order runs: below plan is known once the order has
                    // left its equipment and grace passed. Then the unused material goes back to stock (a
                    // return: negative consumption), so the ERP's inputs equal what was consumed.
                    guard settled else { continue }
                    let date = min(max(derived.lastTime, endedAt ?? derived.lastTime), now)
                    let fresh = derived.sources.subtracting(postedSources[key] ?? []).sorted()
                    out.append(.post(key, quantity: delta, postingDate: date, sources: fresh))
                    out.append(.review(key, quantity: 0, reason: ""))
                } else {
                    out.append(.review(key, quantity: delta,
                                       reason: "derived fell below what was posted (an assignment changed after posting): reverse in the ERP"))
                }
                continue
            }
            let due: Bool
            switch (key.kind, policy.cadence) {
            case (.consumption, _):
                due = derived.lastTime + policy.grace <= now
            case (_, .every):
                due = policy.cadence.bucketEnd(key.bucket).map { $0 + policy.grace <= now } ?? false
            case (_, .quantity(let q)):
                due = delta >= q || settled
            }
            guard due else { continue }
            // Dated by the latest event it settles, never later than now: no future-dated ERP moves.
            let date = min(derived.lastTime, now)
            let fresh = derived.sources.subtracting(postedSources[key] ?? []).sorted()
            out.append(.post(key, quantity: delta, postingDate: date, sources: fresh))
            out.append(.review(key, quantity: 0, reason: ""))
        }
        return out
    }

    /// Per order: when its last assignment ended, or nil while any of them still runs.
    public static func orderEnds(_ assignments: [Assignment]) -> [Int64: Timestamp?] {
        // updateValue: assigning nil through the subscript would remove the key.
        var ended: [Int64: Timestamp?] = [:]
        for a in assignments {
            switch ended[a.orderID] {
            case .none: ended.updateValue(a.to, forKey: a.orderID)
            case .some(.none): break
            case .some(.some(let t)): ended.updateValue(a.to.map { max($0, t) }, forKey: a.orderID)
            }
        }
        return ended
    }

    /// Quantities are sums of doubles; keep them at a micro-unit so 0.1 + 0.2 compares as 0.3.
    func roundQuantity(_ q: Double) -> Double { (q * 1_000_000).rounded() / 1_000_000 }
}
