import EdgeConfig

/// Which sensor instances a topic feeds, resolved once per distinct topic and then cached.
struct TopicRouter {
    /// One sensor instance a topic resolves to.
    struct Route: Hashable {
        var sensor: Int
        var equipment: String
        var signal: String
    }

    /// Bounded so a flood of unknown topics cannot grow memory without limit.
    static let maxCachedTopics = 200_000

    private let sensors: [SensorConfig]
    private let brokerSensors: [String: [Int]]
    private var cache: [String: [Route]] = [:]
    private var cacheKeys: [String: Set<String>] = [:]

    init(sensors: [SensorConfig]) {
        self.sensors = sensors
        var by: [String: [Int]] = [:]
        for (i, s) in sensors.enumerated() { by[s.broker, default: []].append(i) }
        brokerSensors = by
    }

    /// Routes for a topic from a broker; empty when no sensor pattern matches.
    mutating func routes(broker: String, topic: String) -> [Route] {
        let key = brokerSensors.count > 1 ? "\(broker)\u{0}\(topic)" : topic
        if let hit = cache[key] { return hit }
        var out: [Route] = []
        for i in brokerSensors[broker] ?? [] {
            let s = sensors[i]
            guard let captures = s.topic.match(topic) else { continue }
            out.append(Route(sensor: i, equipment: s.equipment.render(captures), signal: s.signal.render(captures)))
        }
        if cache.count >= Self.maxCachedTopics { cache.removeAll(keepingCapacity: true) }
        cache[key] = out
        return out
    }
}
