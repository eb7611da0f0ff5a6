/// A production order's state in the ERP (Tryton's `production.state` names).
///
/// Why an enum: "may anything still be posted to this order" (`isClosed`) is decided from it in the
/// reconciliation, the connector and the CLI; a state compared as a string in each of them drifted.
/// A state the ERP answers that this version does not know is refused at import with its name.
public enum OrderState: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    case request, draft, waiting, assigned, running, done, cancelled

    /// Nothing may be posted to the order any more (late data goes to the review queue).
    public var isClosed: Bool { self == .done || self == .cancelled }

    public var description: String { rawValue }
}
