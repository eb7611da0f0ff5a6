import MillwrightCore

/// Which order (and operation) ran on a piece of equipment, over a valid time `[from, to)`.
/// `to == nil` means still running.
public struct Assignment: Sendable, Hashable, Codable {
    public var equipment: String
    public var orderID: Int64
    /// The ERP operation (Tryton `production.work`) when known.
    public var workID: Int64?
    public var from: Timestamp
    public var to: Timestamp?
    public var source: AssignmentSource

    public init(equipment: String, orderID: Int64, workID: Int64? = nil, from: Timestamp, to: Timestamp?, source: AssignmentSource) {
        self.equipment = equipment
        self.orderID = orderID
        self.workID = workID
        self.from = from
        self.to = to
        self.source = source
    }

    public func contains(_ t: Timestamp) -> Bool { t >= from && (to.map { t < $0 } ?? true) }

    /// How much of `[a, b)` falls inside this assignment, in milliseconds.
    func overlap(_ a: Timestamp, _ b: Timestamp) -> Int64 {
        let lo = max(a, from).milliseconds
        let hi = min(b, to ?? b).milliseconds
        return max(0, hi - lo)
    }
}

/// A start or stop of an order on equipment, as the MES publishes it at the plant.
public struct AssignmentChange: Sendable, Hashable, Codable {
    public enum Action: String, Sendable, Codable { case start, stop }
    public var equipment: String
    public var orderID: Int64
    public var workID: Int64?
    public var action: Action
    public var at: Timestamp

    public init(equipment: String, orderID: Int64, workID: Int64? = nil, action: Action, at: Timestamp) {
        self.equipment = equipment
        self.orderID = orderID
        self.workID = workID
        self.action = action
        self.at = at
    }
}

/// Builds valid-time assignments from start/stop changes. The changes are sorted first, so
/// the timeline is the same whatever order they arrived in.
public enum AssignmentTimeline {
    public static func build(_ changes: [AssignmentChange]) -> [Assignment] {
        let byEquipment = Dictionary(grouping: changes, by: \.equipment)
        var result: [Assignment] = []
        for equipment in byEquipment.keys.sorted() {
            // Stops before starts at the same instant: a changeover closes the old order first.
            let sorted = byEquipment[equipment]!.sorted {
                ($0.at, $0.action == .stop ? 0 : 1, $0.orderID) < ($1.at, $1.action == .stop ? 0 : 1, $1.orderID)
            }
            var open: Assignment?
            for c in sorted {
                switch c.action {
                case .start:
                    if var o = open {
                        if o.orderID == c.orderID && o.workID == c.workID { continue }  // a repeated start
                        o.to = c.at
                        if o.to! > o.from { result.append(o) }
                    }
                    open = Assignment(equipment: equipment, orderID: c.orderID, workID: c.workID, from: c.at, to: nil, source: .mes)
                case .stop:
                    // A stop for another order than the open one is stale (already superseded): ignore.
                    guard var o = open, o.orderID == c.orderID else { continue }
                    o.to = c.at
                    if o.to! > o.from { result.append(o) }
                    open = nil
                }
            }
            if let o = open { result.append(o) }
        }
        return result
    }
}
