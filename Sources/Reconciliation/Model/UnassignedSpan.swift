import MillwrightCore

/// Production no order covers: counts on one piece of equipment that fall between its assignments.
///
/// Why a type and not a number per equipment: an operator must be able to see *when* the parts
/// were made to decide which order they belong to, and then assign exactly that range. One span
/// per equipment, kind, material and gap between assignments (the gap is named by when the
/// previous assignment ended: `after`, nil before the first).
public struct UnassignedSpan: Sendable, Hashable, Codable {
    public var equipment: String
    public var kind: QuantityKind
    /// The consumed product code; "" for yield and scrap.
    public var material: String
    /// The end of the assignment before the gap (nil: no assignment before these counts).
    public var after: Timestamp?
    /// The start of the assignment after the gap (nil: none yet).
    public var before: Timestamp?
    /// The earliest and latest time the counts cover.
    public var from: Timestamp
    public var to: Timestamp
    public var quantity: Double
    public var events: Set<EventKey>

    /// What names a span from pass to pass: equipment, kind, material and the gap it lies in.
    public struct Gap: Sendable, Hashable {
        public var equipment: String
        public var kind: QuantityKind
        public var material: String
        public var after: Timestamp?

        public init(equipment: String, kind: QuantityKind, material: String, after: Timestamp?) {
            self.equipment = equipment
            self.kind = kind
            self.material = material
            self.after = after
        }
    }

    public var gap: Gap { Gap(equipment: equipment, kind: kind, material: material, after: after) }

    /// "yield", or "consumption STEEL": what was counted, for people.
    public var what: String { material.isEmpty ? kind.rawValue : "\(kind.rawValue) \(material)" }

    public init(equipment: String, kind: QuantityKind, material: String, after: Timestamp?, before: Timestamp?,
                from: Timestamp, to: Timestamp, quantity: Double, events: Set<EventKey>) {
        self.equipment = equipment
        self.kind = kind
        self.material = material
        self.after = after
        self.before = before
        self.from = from
        self.to = to
        self.quantity = quantity
        self.events = events
    }
}
