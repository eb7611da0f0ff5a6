import MillwrightCore
import MQTTClient

/// The link to the central: its broker, batching, acknowledgement and drain limits.
public struct UplinkConfig: Sendable, Hashable {
    public var options: MQTTConnectionOptions
    /// Events per batch at most.
    public var batchEvents = 2000
    /// Bytes per batch at most (one event larger than this still goes, alone).
    public var batchBytes = 1 << 20
    /// A batch not acknowledged within this time is sent again.
    public var ackTimeout = Millis.seconds(10)
    /// Batches sent and not yet acknowledged, at most (adaptive: the window's ceiling).
    public var maxInflightBatches = 64
    /// Whether the window adapts to the central (adaptive) or is always `maxInflightBatches`.
    public var window = WindowMode.adaptive
    /// Adaptive window: shrink while acks take longer than this after the broker took the batch;
    /// nil means a quarter of `ackTimeout` (2.5 s by default).
    public var targetAckLatency: Millis?
    public var effectiveTargetAckLatency: Millis { targetAckLatency ?? Millis(ackTimeout.value / 4) }
    /// Drain limits so a reconnecting plant does not flood the link; 0 means unlimited.
    public var drainEventsPerSecond = 0.0
    public var drainBytesPerSecond = 0.0
    /// An event sent later than this after its commit is flagged is_historical (backlog).
    public var historicalAfter = Millis.seconds(60)
    /// How often the edge publishes its retained status.
    public var statusInterval = Millis.seconds(10)

    public init(options: MQTTConnectionOptions) { self.options = options }

    /// How the number of batches in flight is chosen.
    public enum WindowMode: String, Sendable, Hashable, CaseIterable {
        /// Start at 2 batches (or the ceiling if lower), grow while the window is full and acks come
        /// back within `target_ack_latency`, up to `max_inflight_batches`; shrink while they do not.
        case adaptive
        /// Always `max_inflight_batches`.
        case fixed
    }
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
