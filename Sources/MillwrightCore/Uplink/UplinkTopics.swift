/// Topic names of uplink protocol v1 (docs/PROTOCOL.md). One place, used by edge and central.
public enum UplinkTopics {
    public static let version = "v1"
    public static let root = "millwright/v1"

    /// Edge -> central, QoS 1: event batches.
    public static func events(site: String, edge: String) -> String { "\(root)/\(site)/\(edge)/events" }
    /// Central -> edge, QoS 1: committed sequence ranges.
    public static func ack(site: String, edge: String) -> String { "\(root)/\(site)/\(edge)/ack" }
    /// Edge -> everyone, retained: the edge's status.
    public static func status(site: String, edge: String) -> String { "\(root)/\(site)/\(edge)/status" }
    /// Central -> everyone, retained: the whole central service online/offline. Kept for edges of
    /// release 1 (before presence per replica); replicas keep it `online` while any of them runs.
    public static let centralPresence = "\(root)/central/presence"
    /// One central replica -> everyone, retained with that replica's last will: online/offline.
    /// Six levels, so no edge filter (`+/+/events`, `+/+/status`) can match it.
    public static func replicaPresence(_ replica: String) -> String { "\(root)/central/replicas/\(replica)/presence" }
    /// Every replica's presence.
    public static let allReplicaPresence = "\(root)/central/replicas/+/presence"

    /// The replica a presence topic names, nil if the topic is not one.
    public static func parseReplicaPresence(_ topic: String) -> String? {
        let parts = topic.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "millwright", parts[1] == "v1", parts[2] == "central", parts[3] == "replicas",
              parts[5] == "presence", !parts[4].isEmpty else { return nil }
        return String(parts[4])
    }

    /// Whether `id` can name a replica in a topic: one non-empty topic level without wildcards.
    public static func isTopicLevel(_ id: String) -> Bool {
        !id.isEmpty && !id.contains(where: { "/+#".contains($0) || $0 == "\u{0}" })
    }

    /// What the central subscribes to for all edges.
    public static let allEvents = "\(root)/+/+/events"
    public static let allStatus = "\(root)/+/+/status"

    /// (site, edge) from an events or status topic, nil if the topic is not one.
    public static func parse(_ topic: String, kind: String) -> (site: String, edge: String)? {
        let parts = topic.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0] == "millwright", parts[1] == "v1", parts[4] == kind,
              !parts[2].isEmpty, !parts[3].isEmpty else { return nil }
        return (String(parts[2]), String(parts[3]))
    }
}
