/// One cell of a row moving between backends, typed by its column's `TransferKind`.
///
/// Why an enum: rows of every table travel through the same source and target code, and a value
/// read from one backend must say what it is so the other binds it with the right type.
public enum TransferValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case bytes([UInt8])
    case boolean(Bool)
    case textList([String])
}
