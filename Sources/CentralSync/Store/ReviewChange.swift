import Reconciliation

/// What the reconcile pass decided for a line's review item: set it (quantity and reason), or
/// clear it (quantity 0). Why its own type: the pass hands the same decisions to every backend.
public struct ReviewChange: Sendable, Hashable {
    public var line: LineKey
    public var quantity: Double
    public var reason: String
    public var sources: [String]

    public init(line: LineKey, quantity: Double, reason: String, sources: [String]) {
        self.line = line
        self.quantity = quantity
        self.reason = reason
        self.sources = sources
    }
}
