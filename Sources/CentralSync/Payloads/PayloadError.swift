import Foundation

/// What is wrong with a posting's payload, said so that an operator editing it can fix it.
///
/// Why its own type: the same checks refuse an edit before a replay and a stored payload a connector
/// cannot use, and both must name the field.
public enum PayloadError: Error, Hashable, CustomStringConvertible {
    case notJSON(PostingKind, String)
    case notAnObject(PostingKind)
    case unknownField(PostingKind, String, hint: String)
    case missing(PostingKind, field: String)
    case wrongType(PostingKind, field: String, expected: String)
    case invalid(PostingKind, field: String, reason: String)
    case unencodable(String)

    public var description: String {
        switch self {
        case .notJSON(let k, let why): "the \(k) payload is not JSON: \(why)"
        case .notAnObject(let k): "the \(k) payload is not a JSON object"
        case .unknownField(let k, let f, let hint): "the \(k) payload has the unknown field \"\(f)\"\(hint)"
        case .missing(let k, let f): "the \(k) payload lacks \"\(f)\""
        case .wrongType(let k, let f, let expected): "the \(k) payload's \"\(f)\" must be \(expected)"
        case .invalid(let k, let f, let reason): "the \(k) payload's \"\(f)\" \(reason)"
        case .unencodable(let why): "the payload cannot be written as JSON: \(why)"
        }
    }

    /// A decoder's error, with the field's path (`orders[2].number`) in place of its coding keys.
    init(_ kind: PostingKind, _ error: DecodingError) {
        func path(_ keys: [any CodingKey], _ last: (any CodingKey)? = nil) -> String {
            (keys + (last.map { [$0] } ?? [])).reduce(into: "") { s, k in
                if let i = k.intValue { s += "[\(i)]" } else { s += s.isEmpty ? k.stringValue : ".\(k.stringValue)" }
            }
        }
        func name(_ type: Any.Type) -> String {
            switch type {
            case is String.Type: "text"
            case is Bool.Type: "true or false"
            case is Int.Type, is Int64.Type: "a whole number"
            case is Double.Type: "a number"
            default: "\(type)"
            }
        }
        switch error {
        case .keyNotFound(let key, let ctx): self = .missing(kind, field: path(ctx.codingPath, key))
        case .valueNotFound(let type, let ctx): self = .wrongType(kind, field: path(ctx.codingPath), expected: "\(name(type)), not null")
        case .typeMismatch(let type, let ctx): self = .wrongType(kind, field: path(ctx.codingPath), expected: name(type))
        case .dataCorrupted(let ctx):
            self = ctx.codingPath.isEmpty ? .notJSON(kind, ctx.debugDescription)
                : .invalid(kind, field: path(ctx.codingPath), reason: "is not valid: \(ctx.debugDescription)")
        @unknown default: self = .notJSON(kind, "\(error)")
        }
    }
}
