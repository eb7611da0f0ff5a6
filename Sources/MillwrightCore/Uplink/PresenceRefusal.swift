/// Why a presence message was not used (unreadable, or naming another replica than its topic).
///
/// Why a type: the edge and the replicas log and count it with the same words.
public struct PresenceRefusal: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String
}
