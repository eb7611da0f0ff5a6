/// Who said which order ran on a piece of equipment. Stored as its raw value.
///
/// Why an enum: the timeline gives each source its own precedence (an MES or an operator overrides
/// what the ERP import inferred on that equipment); a misspelt string there would silently demote
/// a source.
public enum AssignmentSource: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    /// Start and stop messages an MES published at the plant.
    case mes
    /// Running works the ERP import saw (start when a work runs, stop when it no longer does).
    case erp
    /// An operator's `millwright-central assign`, for a span nobody else covered.
    case `operator`

    public var description: String { rawValue }
}
