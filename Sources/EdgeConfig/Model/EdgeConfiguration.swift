import ConfigSupport
import EdgeRules
import MillwrightCore
import MQTTClient

/// The whole edge configuration, validated.
public struct EdgeConfiguration: Sendable, Hashable {
    public var site: String
    public var edge: String
    /// Where the agent keeps its SQLite store and status file.
    public var dataDir: String
    public var brokers: [BrokerConfig]
    public var ingest: IngestSettings
    public var sensors: [SensorConfig]
    /// The link to the central; without it events stay in the local outbox.
    public var uplink: UplinkConfig?
    public var outbox: OutboxConfig
    /// A short hash of the file's text, reported in status so operators can tell which config runs.
    public var version: String
    /// What the file does that works but should not (an inline secret), located; `check-config`
    /// prints them and the agent logs them at start.
    public var warnings: [ConfigIssue] = []

    public func broker(named name: String) -> BrokerConfig? { brokers.first { $0.name == name } }
}

/// One plant broker connection.
public struct BrokerConfig: Sendable, Hashable {
    public var name: String
    public var options: MQTTConnectionOptions
}

/// Limits and cadences of the ingest pipeline.
public struct IngestSettings: Sendable, Hashable {
    public enum ClockSkewPolicy: String, Sendable, Hashable, CaseIterable {
        /// Keep the reading, stamped with the receive time (time_source receive_skewed).
        case useReceiveTime = "use_receive_time"
        /// Refuse the reading (counted and quarantined).
        case reject
    }

    public var maxPayloadBytes = 65_536
    public var maxFutureSkew = Millis.seconds(300)
    public var maxPastAge = Millis.seconds(7 * 86_400)
    public var onClockSkew = ClockSkewPolicy.useReceiveTime
    /// Quarantined samples kept (oldest go first).
    public var quarantineKeep = 1000
    /// How often the clock drives stale watchdogs, window closes and counter flushes.
    public var tickInterval = Millis(1000)
    /// How often rule state that changed without an event is saved.
    public var checkpointInterval = Millis.seconds(5)
    /// How often the status file is rewritten.
    public var statusInterval = Millis.seconds(5)
    /// How often the config file is checked for changes (reload without SIGHUP); 0 disables.
    public var watchInterval = Millis.seconds(2)

    public init() {}
}

/// A group of sensor instances sharing a topic pattern, a decoder and rules.
public struct SensorConfig: Sendable, Hashable {
    public var name: String
    public var broker: String
    public var topic: TopicPattern
    public var qos: Int
    /// Equipment name, with `{capture}` placeholders from the topic.
    public var equipment: CaptureTemplate
    /// Signal name, with `{capture}` placeholders from the topic.
    public var signal: CaptureTemplate
    public var decode: DecodeSpec
    public var rules: [RuleSpec]
    /// Rules for particular equipment, replacing `rules` for it (already merged).
    public var overrides: [String: [RuleSpec]]

    public func rules(forEquipment equipment: String) -> [RuleSpec] {
        overrides[equipment] ?? rules
    }
}
