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
    /// Central -> everyone, retained with a last will: online/offline.
    public static let centralPresence = "\(root)/central/presence"

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
