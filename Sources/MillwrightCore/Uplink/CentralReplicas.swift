import Foundation

/// What a client of the central (an edge, or another replica) knows of the central service from
/// the retained presence messages.
///
/// Why a type of its own: availability is a property of the service, not of one process. Each
/// replica announces itself on its own topic, with its own last will, so the loss of one replica
/// never makes the service look offline while another runs; and a replica going away is the signal
/// that batches it held will not be answered. Pure (no broker, no clock), so its rules are tested
/// on their own and the edge and the replicas read presence the same way.
public struct CentralReplicas: Sendable, Hashable {
    /// The latest presence of each replica the broker holds a message for, by replica id.
    public private(set) var replicas: [String: CentralPresence] = [:]
    /// The service-wide message (`UplinkTopics.centralPresence`): all a central of release 1
    /// publishes. Read only while no replica has announced itself.
    public private(set) var service: CentralPresence.State?

    public init() {}

    /// Replicas online now, sorted.
    public var online: [String] { replicas.filter { $0.value.state == .online }.keys.sorted() }
    /// Replicas whose last message says offline, sorted.
    public var gone: [String] { replicas.filter { $0.value.state == .offline }.keys.sorted() }

    /// Whether any replica is there to take batches. With presence per replica, that is the only
    /// source; without any (a central of release 1), the service-wide message.
    public var available: Bool {
        replicas.isEmpty ? service == .online : replicas.values.contains { $0.state == .online }
    }

    /// Whether a replica other than `me` is online (a stopping replica asks before it tells the
    /// edges of release 1 that the whole service is offline).
    public func othersOnline(than me: String) -> Bool {
        replicas.contains { $0.key != me && $0.value.state == .online }
    }

    /// What one message changed.
    public struct Update: Sendable, Hashable {
        public var wasAvailable: Bool
        public var isAvailable: Bool
        /// A replica that was online and is not any more: batches it held get no answer.
        public var lost: String?
        /// A replica that came online.
        public var joined: String?
        /// The message could not be used (not JSON of a presence, or naming another replica than
        /// its topic): nothing changed.
        public var refused: PresenceRefusal?
    }

    /// Forgets everything (a reconnect: the broker sends every retained message again).
    public mutating func reset() {
        replicas = [:]
        service = nil
    }

    /// Applies one message from `UplinkTopics.centralPresence` or `UplinkTopics.allReplicaPresence`.
    /// An empty payload is a retained message being cleared: the replica is forgotten. Returns nil
    /// for a topic that is neither.
    public mutating func apply(topic: String, payload: [UInt8]) -> Update? {
        let before = available
        var update = Update(wasAvailable: before, isAvailable: before)
        if topic == UplinkTopics.centralPresence {
            if payload.isEmpty {
                service = nil
            } else {
                switch Self.decode(payload) {
                case .success(let p): service = p.state
                case .failure(let why):
                    update.refused = why
                    return update
                }
            }
        } else if let id = UplinkTopics.parseReplicaPresence(topic) {
            let wasOnline = replicas[id]?.state == .online
            if payload.isEmpty {
                replicas[id] = nil
            } else {
                let p: CentralPresence
                switch Self.decode(payload) {
                case .success(let decoded): p = decoded
                case .failure(let why):
                    update.refused = why
                    return update
                }
                guard p.replica == nil || p.replica == id else {
                    update.refused = PresenceRefusal(description: "names replica \(p.replica ?? "-") on the topic of \(id)")
                    return update
                }
                replicas[id] = p
            }
            let isOnline = replicas[id]?.state == .online
            if wasOnline && !isOnline { update.lost = id }
            if !wasOnline && isOnline { update.joined = id }
        } else {
            return nil
        }
        update.isAvailable = available
        return update
    }

    static func decode(_ payload: [UInt8]) -> Result<CentralPresence, PresenceRefusal> {
        do { return .success(try JSONDecoder().decode(CentralPresence.self, from: Data(payload))) } catch {
            return .failure(PresenceRefusal(description: "not a presence message (\(error))"))
        }
    }
}
