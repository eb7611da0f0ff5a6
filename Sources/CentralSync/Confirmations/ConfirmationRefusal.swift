/// Why an MES confirmation was not booked; counted per reason (`name`) and logged with the
/// details.
///
/// Why an enum: the MQTT intake, a dropped file's result and (later) the API answer name the same
/// reasons, and a count by reason is what an operator looks at first.
public enum ConfirmationRefusal: Error, Sendable, Hashable, CustomStringConvertible {
    /// Not a JSON object, or too large.
    case malformed(String)
    /// A field missing, of the wrong type, out of range, or unknown.
    case invalid(field: String, reason: String)
    /// No imported order has this number or reference (master data comes only from the ERP).
    case unknownOrder(String)
    /// More than one imported order has this reference: name it by number.
    case ambiguousOrder(String, numbers: [String])
    /// The order has no work with this operation (or this work id).
    case unknownOperation(order: String, operation: String, known: [String])
    /// The order runs the operation more than once: the confirmation must give `work`.
    case ambiguousOperation(order: String, operation: String, works: [Int64])
    /// A consumed lot's material is not an input of the order's bill of materials.
    case unknownMaterial(order: String, material: String, known: [String])
    /// An inspection names a lot no MES confirmation booked for this product.
    case unknownLot(lot: String, product: String)
    /// The order is not released (request, draft) or is closed (done, cancelled).
    case orderNotOpen(order: String, state: OrderState)
    /// A figure is confirmed but no target is routed for its kind.
    case notRouted(PostingKind)
    /// The same confirmation id was booked before with other figures.
    case conflict(id: String)

    public var name: String {
        switch self {
        case .malformed: "malformed"
        case .invalid: "invalid"
        case .unknownOrder: "unknown_order"
        case .ambiguousOrder: "ambiguous_order"
        case .unknownOperation: "unknown_operation"
        case .ambiguousOperation: "ambiguous_operation"
        case .unknownMaterial: "unknown_material"
        case .unknownLot: "unknown_lot"
        case .orderNotOpen: "order_not_open"
        case .notRouted: "not_routed"
        case .conflict: "conflict"
        }
    }

    public var description: String {
        switch self {
        case .malformed(let why): "malformed confirmation: \(why)"
        case .invalid(let field, let reason): "the confirmation's \"\(field)\" \(reason)"
        case .unknownOrder(let order): "no order \"\(order)\" was imported from the ERP (by number or reference); nothing is created for it"
        case .ambiguousOrder(let ref, let numbers): "the reference \"\(ref)\" names several orders (\(numbers.joined(separator: ", "))): give the number"
        case .unknownOperation(let order, let op, let known):
            "order \(order) has no operation \"\(op)\" (it has: \(known.isEmpty ? "none" : known.joined(separator: ", ")))"
        case .ambiguousOperation(let order, let op, let works):
            "order \(order) runs \"\(op)\" as works \(works.map(String.init).joined(separator: ", ")): give \"work\""
        case .unknownMaterial(let order, let material, let known):
            "order \(order) consumes no material \"\(material)\" (its inputs: \(known.isEmpty ? "none" : known.joined(separator: ", ")))"
        case .unknownLot(let lot, let product):
            "no MES confirmation booked a lot \"\(lot)\" of \"\(product)\" (as an output lot or a consumed lot): nothing is held or released"
        case .orderNotOpen(let order, let state): "order \(order) is \(state) in the ERP: nothing may be confirmed on it"
        case .notRouted(let kind): "no target is routed for \(kind) (routes: { \(kind): <target> })"
        case .conflict(let id): "\"\(id)\" was booked before with other figures; a correction needs an id of its own"
        }
    }
}
