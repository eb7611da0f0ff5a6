import MillwrightCore
import MQTTClient

/// The link to the central: its broker, batching, acknowledgement and drain limits.
public struct UplinkConfig: Sendable, Hashable {
    public var options: MQTTConnectionOptions
    /// Events per batch at most.
    public var batchEvents = 500
    /// Bytes per batch at most (one event larger than this still goes, alone).
    public var batchBytes = 256 * 1024
    /// A batch not acknowledged within this time is sent again.
    public var ackTimeout = Millis.seconds(10)
    /// Batches sent and not yet acknowledged, at most.
    public var maxInflightBatches = 8
    /// Drain limits so a reconnecting plant does not flood the link; 0 means unlimited.
    public var drainEventsPerSecond = 0.0
    public var drainBytesPerSecond = 0.0
    /// An event sent later than this after its commit is flagged is_historical (backlog).
    public var historicalAfter = Millis.seconds(60)
    /// How often the edge publishes its retained status.
    public var statusInterval = Millis.seconds(10)

    public init(options: MQTTConnectionOptions) { self.options = options }
}

/// Limits of the edge outbox. When one is reached, the lowest-priority oldest events go
/// first (summaries before states before counts before alarms), and every drop becomes a
/// gap record delivered like any event.
public struct OutboxConfig: Sendable, Hashable {
    public var maxEvents = 2_000_000
    public var maxBytes = 1 << 30
    /// Events older than this (by commit time) are dropped, per priority class; absent means kept.
    public var ttl: [PriorityClass: Millis] = [:]
    /// synchronous=FULL (default) survives power loss; NORMAL may lose the last commits.
    public var synchronousFull = true

    public init() {}
}
