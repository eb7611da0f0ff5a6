/// Why a replay was refused: the same reasons on every backend, so an operator (and a test) sees
/// one kind of error whatever the database.
public enum ReplayRefusal: Error, Hashable, CustomStringConvertible {
    case noSuchPosting(Int64)
    case alreadyAcknowledged(Int64, documentRef: String?)
    case payloadNotAnObject

    public var description: String {
        switch self {
        case .noSuchPosting(let id): "no posting \(id): list them with `millwright-central postings`"
        case .alreadyAcknowledged(let id, let ref): "posting \(id) was acknowledged as \(ref ?? "?"); there is nothing to replay"
        case .payloadNotAnObject: "the edited payload is not a JSON object"
        }
    }
}
