import MillwrightCore

/// Attributes observations to the orders that ran on their equipment at their (corrected) event time.
///
/// A count covering `[from, to]` is split across the assignments it overlaps, pro rata to the
/// overlap; whole quantities stay whole (largest remainder), so no unit is created or lost.
/// What no assignment covers is returned as unattributed, never guessed.
public enum Attribution {
    public struct Share: Sendable, Hashable {
        public var assignment: Assignment?
        public var quantity: Double
        /// The midpoint of the overlap: the time that picks the cadence bucket.
        public var time: Timestamp
    }

    public static func split(_ o: Observation, over assignments: [Assignment]) -> [Share] {
        split(o, overSorted: assignments.filter { $0.equipment == o.equipment }.sorted { $0.from < $1.from })
    }

    /// `mine`: the observation's equipment's assignments, sorted by start.
    static func split(_ o: Observation, overSorted mine: [Assignment]) -> [Share] {
        if o.to <= o.from {
            let a = mine.last { $0.contains(o.from) }
            return [Share(assignment: a, quantity: o.quantity, time: o.from)]
        }
        let span = (o.to - o.from).value
        var parts: [(Assignment?, Int64, Timestamp)] = []
        var covered: Int64 = 0
        for a in mine {
            let ms = a.overlap(o.from, o.to)
            guard ms > 0 else { continue }
            covered += ms
            let lo = max(o.from, a.from).milliseconds
            parts.append((a, ms, Timestamp(milliseconds: lo + ms / 2)))
        }
        if covered < span {
            parts.append((nil, span - covered, Timestamp(milliseconds: o.from.milliseconds + span / 2)))
        }
        let weights = parts.map { Double($0.1) / Double(span) }
        let quantities = apportion(o.quantity, weights: weights)
        return zip(parts, quantities).compactMap { p, q in q == 0 ? nil : Share(assignment: p.0, quantity: q, time: p.2) }
    }

    /// Splits `total` by `weights` (summing to 1). Whole totals give whole parts (largest remainder,
    /// ties to the earlier part), so the parts always add up to the total exactly.
    static func apportion(_ total: Double, weights: [Double]) -> [Double] {
        guard weights.count > 1 else { return [total] }
        guard total == total.rounded(), abs(total) < 1e15 else { return weights.map { total * $0 } }
        let raw = weights.map { total * $0 }
        var parts = raw.map { $0.rounded(.towardZero) }
        var left = total - parts.reduce(0, +)
        let order = raw.indices.sorted { abs(raw[$0] - parts[$0]) > abs(raw[$1] - parts[$1]) }
        let step: Double = total >= 0 ? 1 : -1
        var i = 0
        while left != 0 && !order.isEmpty {
            parts[order[i % order.count]] += step
            left -= step
            i += 1
        }
        return parts
    }
}
