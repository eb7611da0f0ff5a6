import Foundation
import EdgeConfig
import Logging
import MillwrightCore
import MQTTClient
import ServiceLifecycle
import Synchronization

/// Owns one MQTT client per plant broker and feeds their messages into the pipeline.
///
/// Each client acknowledges a reading only after the writer committed its effects (`gate`), and
/// none connects before the writer runs: the store and restored rule state exist already (built
/// with the agent), so the first reading the broker hands over can be committed and acknowledged.
public final class IngestService: Service {
    let pipeline: IngestPipeline
    let writer: EventWriter
    let gate: IngestCommitGate?
    let logger: Logger
    let clients = Mutex<[String: (BrokerConfig, MQTTClient)]>([:])

    public init(pipeline: IngestPipeline, writer: EventWriter, logger: Logger, gated: Bool = true) {
        self.pipeline = pipeline
        self.writer = writer
        self.gate = gated ? IngestCommitGate(pipeline: pipeline, writer: writer) : nil
        self.logger = logger
    }

    public func run() async throws {
        // Start-up order: subscribe only once the writer can commit (and so acknowledge).
        await writer.waitUntilRunning()
        try Task.checkCancellation()
        try await apply(pipeline.configuration)
        // Cancellation ends the wait too; either way, stop the clients.
        try? await gracefulShutdown()
        // Stop receiving first; the writer, shut down after us, commits what is left.
        let all = clients.withLock { c -> [MQTTClient] in
            defer { c.removeAll() }
            return c.values.map(\.1)
        }
        // Each network thread may wait (bounded) for the writer's last commit to send its
        // acknowledgements; `stop` awaits that without holding a thread of the pool.
        await withTaskGroup(of: Void.self) { group in
            for c in all { group.addTask { await c.stop() } }
        }
    }

    /// Brings connections and subscriptions in line with a configuration.
    public func apply(_ config: EdgeConfiguration) async throws(MQTTError) {
        var wanted: [String: [String: Int]] = [:]
        for s in config.sensors {
            let filter = s.topic.subscriptionFilter
            // At most QoS 1: libmosquitto sends a QoS 2 PUBREC before the message reaches us, so a
            // crash could lose it; at QoS 1 the PUBACK waits for our commit (see DeliveryGate).
            wanted[s.broker, default: [:]][filter] = max(wanted[s.broker]?[filter] ?? 0, min(s.qos, 1))
        }
        var toStop: [MQTTClient] = []
        var toStart: [MQTTClient] = []
        try clients.withLock { (current: inout [String: (BrokerConfig, MQTTClient)]) throws(MQTTError) in
            for (name, (cfg, client)) in current where config.broker(named: name) != cfg {
                // Removed or changed connection settings: reconnect with the new ones.
                toStop.append(client)
                current[name] = nil
            }
            for broker in config.brokers {
                let client: MQTTClient
                if let existing = current[broker.name]?.1 {
                    client = existing
                } else {
                    client = try makeClient(broker)
                    current[broker.name] = (broker, client)
                    toStart.append(client)
                }
                let want = wanted[broker.name] ?? [:]
                for (filter, qos) in want where client.subscriptions[filter] != qos {
                    try client.subscribe(filter, qos: qos)
                }
                for filter in client.subscriptions.keys where want[filter] == nil {
                    try client.unsubscribe(filter)
                }
            }
        }
        // The old connection ends before its replacement starts (they may share a client id).
        for c in toStop { await c.stop() }
        for c in toStart { c.start() }
    }

    func makeClient(_ broker: BrokerConfig) throws(MQTTError) -> MQTTClient {
        let pipeline = self.pipeline
        let name = broker.name
        var log = logger
        log[metadataKey: "broker"] = "\(name)"
        return try MQTTClient(options: broker.options, logger: log, gate: gate, onMessage: { message in
            pipeline.handle(broker: name, topic: message.topic, payload: message.payload, receivedAt: .now())
        })
    }

    /// Per broker: connected or not, and how many times it connected.
    public var connections: [BrokerStatus] {
        clients.withLock { c in
            c.map { entry -> BrokerStatus in
                let gate = entry.value.1.gateStats
                return BrokerStatus(name: entry.key, host: "\(entry.value.0.options.host):\(entry.value.0.options.port)",
                                    connected: entry.value.1.isConnected, connects: entry.value.1.connectionCount,
                                    acknowledgedAfterCommit: gate.acknowledged, commitWaits: gate.seals)
            }
            .sorted { $0.name < $1.name }
        }
    }
}

public struct BrokerStatus: Sendable, Codable, Hashable {
    public var name: String
    public var host: String
    public var connected: Bool
    public var connects: Int
    /// Messages acknowledged to this broker, each only after the commit that covers it.
    public var acknowledgedAfterCommit: Int
    /// Times the client asked the writer to commit before acknowledging.
    public var commitWaits: Int

    enum CodingKeys: String, CodingKey {
        case name, host, connected, connects
        case acknowledgedAfterCommit = "acknowledged_after_commit"
        case commitWaits = "commit_waits"
    }
}
