import MillwrightCore

/// One line of the ledger: what an order (and operation) is owed of one kind in one cadence bucket.
/// Every posting of a quantity names the line it settles.
public struct LineKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var orderID: Int64
    public var workID: Int64?
    public var kind: QuantityKind
    /// The consumed product's code; empty for yield and scrap.
    public var material: String
    /// The bucket's start (ms) in the "every N minutes" tier; 0 in the quantity tier and for consumption.
    public var bucket: Int64

    public init(orderID: Int64, workID: Int64?, kind: QuantityKind, material: String = "", bucket: Int64) {
        self.orderID = orderID
        self.workID = workID
        self.kind = kind
        self.material = material
        self.bucket = bucket
    }

    /// "order/work/kind/material/bucket": stored with postings and review items.
    public var description: String { "\(orderID)/\(workID.map(String.init) ?? "-")/\(kind.rawValue)/\(material)/\(bucket)" }

    public init?(parsing text: String) {
        let p = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard p.count == 5, let o = Int64(p[0]), let k = QuantityKind(rawValue: p[2]), let b = Int64(p[4]) else { return nil }
        self.init(orderID: o, workID: p[1] == "-" ? nil : Int64(p[1]), kind: k, material: p[3], bucket: b)
    }

    public static func < (a: LineKey, b: LineKey) -> Bool { a.description < b.description }
}

/// A line's derived quantity and the events it came from.
public struct DerivedLine: Sendable, Hashable {
    public var quantity: Double = 0
    public var sources: Set<EventKey> = []
    /// The latest (corrected) event time that contributed.
    public var lastTime = Timestamp(milliseconds: 0)

    public init() {}
}
