import MillwrightCore

/// The identity of a stored event: the key the central deduplicates on.
public struct EventKey: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    public var edge: String
    public var bootEpoch: Int64
    public var seq: Int64

    public init(edge: String, bootEpoch: Int64, seq: Int64) {
        self.edge = edge
        self.bootEpoch = bootEpoch
        self.seq = seq
    }

    /// "edge:epoch:seq", the form operators type into `trace`.
    public var description: String { "\(edge):\(bootEpoch):\(seq)" }

    public init?(parsing text: String) {
        let parts = text.split(separator: ":")
        guard parts.count == 3, let e = Int64(parts[1]), let s = Int64(parts[2]) else { return nil }
        self.init(edge: String(parts[0]), bootEpoch: e, seq: s)
    }

    public static func < (a: EventKey, b: EventKey) -> Bool { (a.edge, a.bootEpoch, a.seq) < (b.edge, b.bootEpoch, b.seq) }
}

/// What a quantity counts toward.
public enum QuantityKind: String, Sendable, Codable, CaseIterable {
    /// Good parts: a production confirmation (Tryton: an output move to storage).
    case yield
    /// Rejected parts: an output move to the scrap location.
    case scrap
    /// Material used: an input move (Tryton: a correction over the planned inputs).
    case consumption
}

/// A quantity an event reports over `[from, to]`, on the central's clock (skew already corrected).
/// A count event covers an interval; a point event has `from == to`.
public struct Observation: Sendable, Hashable {
    public var key: EventKey
    public var equipment: String
    public var kind: QuantityKind
    /// The product for consumption (ERP product code); nil for yield and scrap (the order's product).
    public var material: String?
    public var quantity: Double
    public var from: Timestamp
    public var to: Timestamp

    public init(key: EventKey, equipment: String, kind: QuantityKind, material: String? = nil, quantity: Double, from: Timestamp, to: Timestamp) {
        self.key = key
        self.equipment = equipment
        self.kind = kind
        self.material = material
        self.quantity = quantity
        self.from = from
        self.to = to
    }
}
