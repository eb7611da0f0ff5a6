import Foundation

/// An MES's answer to one version of an order release (ISA-95 Process/Acknowledge), as published
/// on `mes.answers`: `{"key": "order_release:42:press-1:v3", "result": "accepted" | "rejected",
/// "reason": "...", "by": "mes-line-1"}`. `reason` is required for a rejection; `by` names the
/// answering system in the audit trail (default `mes`).
///
/// Why by key: the key names exactly the copy and version the MES was sent, so an answer to an
/// older version can never confirm a newer one.
public struct ReleaseAnswer: Sendable, Hashable, Decodable {
    public enum Result: String, Sendable, Hashable, Decodable {
        case accepted, rejected
    }

    public var key: String
    public var result: Result
    public var reason: String?
    public var by: String?

    /// The longest answer read (a larger one is refused unread).
    public static let maxBytes = 16 * 1024
    /// The longest `reason` and `by` kept.
    public static let maxText = 2000

    /// Decodes and checks an answer; the refusal says what is wrong.
    public static func decode(_ payload: [UInt8]) -> Swift.Result<ReleaseAnswer, ReleaseAnswerRefusal> {
        guard payload.count <= maxBytes else { return .failure(.malformed("larger than \(maxBytes) bytes")) }
        let answer: ReleaseAnswer
        do {
            answer = try JSONDecoder().decode(ReleaseAnswer.self, from: Data(payload))
        } catch {
            return .failure(.malformed("expected {\"key\", \"result\": \"accepted\" or \"rejected\", \"reason\", \"by\"}: \(error)"))
        }
        guard answer.key.hasPrefix("\(PostingKind.orderRelease.rawValue):") else {
            return .failure(.notARelease(String(answer.key.prefix(200))))
        }
        if answer.result == .rejected && (answer.reason ?? "").trimmingCharacters(in: .whitespaces).isEmpty {
            return .failure(.malformed("a rejection needs a `reason`"))
        }
        if !IntakeText.isAcceptable(answer.key, max: maxText) || !IntakeText.isAcceptable(answer.reason ?? "", max: maxText, allowEmpty: true)
            || !IntakeText.isAcceptable(answer.by ?? "", max: maxText, allowEmpty: true) {
            return .failure(.malformed("`key`, `reason` and `by` are at most \(maxText) printable characters"))
        }
        return .success(answer)
    }
}

/// Why an answer changed nothing; counted per reason in `status`.
public enum ReleaseAnswerRefusal: Error, Sendable, Hashable, CustomStringConvertible {
    /// Not JSON of the answer's shape, too large, or a rejection without a reason.
    case malformed(String)
    /// The key is not an order release's.
    case notARelease(String)
    /// No posting has this key.
    case unknownKey(String)
    /// The release is not delivered and unanswered (not sent yet, already answered, dead).
    case notAwaitingAnswer(String)
    /// The store could not record it (logged; the MES may answer again).
    case storeFailed(String)

    public var name: String {
        switch self {
        case .malformed: "malformed"
        case .notARelease: "not_a_release"
        case .unknownKey: "unknown_key"
        case .notAwaitingAnswer: "not_awaiting_answer"
        case .storeFailed: "store_error"
        }
    }

    public var description: String {
        switch self {
        case .malformed(let why): "malformed answer: \(why)"
        case .notARelease(let key): "\"\(key)\" is not an order release's key"
        case .unknownKey(let key): "no order release has the key \"\(key)\""
        case .notAwaitingAnswer(let why): why
        case .storeFailed(let why): "the store could not record it: \(why)"
        }
    }
}
