/// Why master data could not be imported as configured.
///
/// Why a type: a mapping that names what the ERP does not have is a configuration error (the
/// central stops at start-up and says which references), unlike an unreachable ERP (retried).
public enum MasterDataError: Error, Sendable, Hashable, CustomStringConvertible {
    /// One line per reference in `equipment:` the ERP does not know, with a hint where one is close.
    case mappingMismatch([String])

    public var description: String {
        switch self {
        case .mappingMismatch(let problems):
            return "the equipment mapping names what the ERP does not have:\n  " + problems.joined(separator: "\n  ")
        }
    }
}
