import Foundation
import MillwrightCore

/// What `millwright-edge status` shows; written by the agent to data_dir/status.json.
public struct EdgeStatus: Sendable, Codable {
    public var agentVersion: String
    public var configVersion: String
    public var site: String
    public var edge: String
    public var pid: Int32
    public var startedAt: Timestamp
    public var updatedAt: Timestamp
    public var bootEpoch: Int64
    public var brokers: [BrokerStatus]
    public var pipeline: PipelineStats
    public var eventsCommitted: Int
    public var storeErrors: Int
    public var lastStoreError: String?
    public var lastReload: ReloadStatus?
    public var recentQuarantine: [QuarantineEntry]
    public var outbox: OutboxStatus
    public var uplink: UplinkStats?
    public var rates: Rates

    /// Per-second rates since the previous status.
    public struct Rates: Sendable, Codable, Hashable {
        public var ingestPerSecond: Double
        public var promotePerSecond: Double

        enum CodingKeys: String, CodingKey {
            case ingestPerSecond = "ingest_per_s"
            case promotePerSecond = "promote_per_s"
        }
    }

    enum CodingKeys: String, CodingKey {
        case agentVersion = "agent_version"
        case configVersion = "config_version"
        case site, edge, pid
        case startedAt = "started_at"
        case updatedAt = "updated_at"
        case bootEpoch = "boot_epoch"
        case brokers, pipeline
        case eventsCommitted = "events_committed"
        case storeErrors = "store_errors"
        case lastStoreError = "last_store_error"
        case lastReload = "last_reload"
        case recentQuarantine = "recent_quarantine"
        case outbox, uplink, rates
    }

    public static func path(dataDir: String) -> String { (dataDir as NSString).appendingPathComponent("status.json") }

    /// Written to a temporary file and renamed, so a reader never sees half a file.
    public func write(dataDir: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(self)
        let path = Self.path(dataDir: dataDir)
        let tmp = path + ".tmp"
        try data.write(to: URL(fileURLWithPath: tmp))
        _ = rename(tmp, path)
    }
}

/// The outbox as operators need to see it: what waits, for how long, and what was lost.
public struct OutboxStatus: Sendable, Codable, Hashable {
    public var backlogEvents: Int
    public var backlogBytes: Int
    public var oldestUnacknowledgedAgeSeconds: Double?
    /// Backlog divided by the recent acknowledgement rate; nil while nothing drains.
    public var drainETASeconds: Double?
    public var drops: [OutboxDrop]

    enum CodingKeys: String, CodingKey {
        case backlogEvents = "backlog_events"
        case backlogBytes = "backlog_bytes"
        case oldestUnacknowledgedAgeSeconds = "oldest_unacknowledged_age_s"
        case drainETASeconds = "drain_eta_s"
        case drops
    }
}

public struct ReloadStatus: Sendable, Codable, Hashable {
    public var at: Timestamp
    public var accepted: Bool
    public var configVersion: String
    public var message: String

    enum CodingKeys: String, CodingKey {
        case at, accepted
        case configVersion = "config_version"
        case message
    }
}
