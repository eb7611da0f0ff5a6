import Foundation
import MillwrightCore

/// An ERP order as every backend stores it in `erp_orders`: the columns it is found by, the whole
/// order as JSON text (`body`), and when the import first saw it closed.
///
/// Why one type: the body's encoding and the closed-seen rule were written once per backend; a
/// backend now only says in its own SQL how a row is upserted, keeping a stored `closedSeenAt` over
/// a new one (the first import that saw the order done or cancelled is when the books closed).
public struct StoredOrder: Sendable, Hashable {
    public var id: Int64
    public var number: String
    public var reference: String
    public var state: String
    public var body: String
    public var importedAt: Int64
    /// Now for an order the ERP reports closed, nil for an open one.
    public var closedSeenAt: Int64?

    public init(_ order: ERPOrder, importedAt now: Timestamp) throws {
        id = order.id
        number = order.number
        reference = order.reference
        state = order.state.rawValue
        body = String(decoding: try Self.encoder.encode(order), as: UTF8.self)
        importedAt = now.milliseconds
        closedSeenAt = order.isClosed ? now.milliseconds : nil
    }

    /// The order a stored body holds; an unreadable one is an error naming the order's row.
    public static func order(body: String) throws -> ERPOrder {
        do {
            return try JSONDecoder().decode(ERPOrder.self, from: Data(body.utf8))
        } catch {
            throw StoredOrderError(body: String(body.prefix(200)), reason: "\(error)")
        }
    }

    /// Sorted keys: the same order is the same text, whichever backend or process wrote it.
    static var encoder: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = .sortedKeys
        return e
    }
}

/// A stored order's body this version cannot read (written by a newer version, or edited by hand).
public struct StoredOrderError: Error, CustomStringConvertible {
    public var body: String
    public var reason: String

    public var description: String { "an ERP order stored as \(body) cannot be read: \(reason)" }
}
