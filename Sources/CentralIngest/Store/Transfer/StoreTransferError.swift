/// Why a store migration stopped, in words an operator can act on.
public struct StoreTransferError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
