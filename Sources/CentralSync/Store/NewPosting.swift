import Foundation

/// A change to add to the postings outbox (the store assigns id, status and times).
/// Why its own type: the reconcile pass builds them the same way for every backend.
public struct NewPosting: Sendable, Hashable {
    public var idempotencyKey: String
    public var target: String
    public var kind: PostingKind
    public var line: String
    public var orderID: Int64?
    public var quantity: Double
    public var payload: String
    public var sources: [String]

    public init(idempotencyKey: String, target: String, kind: PostingKind, line: String = "", orderID: Int64? = nil,
                quantity: Double = 0, payload: String, sources: [String]) {
        self.idempotencyKey = idempotencyKey
        self.target = target
        self.kind = kind
        self.line = line
        self.orderID = orderID
        self.quantity = quantity
        self.payload = payload
        self.sources = sources
    }
}
