import Foundation
import Logging
import MillwrightCore
import MQTTClient
import Synchronization

/// Reads, once, the replica presence the central broker holds: which replicas it sees online now
/// and which are gone (for `millwright-central status`).
///
/// Why from the broker and not the database: "is a replica there for the edges" is what the broker
/// knows (a replica's last will is the broker's word that it lost it); the database only knows who
/// last wrote. The read ends on a marker instead of a timeout: the probe publishes a message to a
/// topic of its own after subscribing, and the broker handles a connection's packets in order, so
/// once the marker comes back every retained presence message has come before it.
public enum ReplicaPresenceProbe {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public static func read(_ options: MQTTConnectionOptions, timeout: Duration = .seconds(5), logger: Logger) async throws(Failure) -> CentralReplicas {
        var o = options
        o.clientID = "\(options.clientID.isEmpty ? "millwright-central" : options.clientID)-status-\(ProcessInfo.processInfo.processIdentifier)"
        o.cleanStart = true
        o.sessionExpiry = 0
        o.will = nil
        o.reconnect = .init(initial: 0.2, maximum: 1, jitter: 0)
        let marker = "\(UplinkTopics.root)/central/probe/\(UUID().uuidString)"
        let seen = Mutex<(replicas: CentralReplicas, done: Bool, subscribed: Bool, refused: String?)>((CentralReplicas(), false, false, nil))
        let client: MQTTClient
        do {
            client = try MQTTClient(options: o, logger: logger, onMessage: { m in
                seen.withLock { s in
                    if m.topic == marker { s.done = true; return }
                    _ = s.replicas.apply(topic: m.topic, payload: m.payload)
                }
            }, onConnectionChange: { e in
                switch e {
                // Reported after the subscriptions went out: a marker published from now on follows them.
                case .connected: seen.withLock { $0.subscribed = true }
                case .refused(let reason): seen.withLock { $0.refused = reason }
                default: break
                }
            })
            try client.subscribe(UplinkTopics.allReplicaPresence, qos: 1, retainHandling: .always)
            try client.subscribe(UplinkTopics.centralPresence, qos: 1, retainHandling: .always)
            try client.subscribe(marker, qos: 1)
        } catch {
            throw Failure(description: "\(error)")
        }
        client.start()
        // Every way out of the wait comes here, so the client always stops (awaited: no defer).
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var published = false
        var outcome: Result<CentralReplicas, Failure>?
        while outcome == nil && clock.now < deadline {
            let (done, subscribed, refused) = seen.withLock { ($0.done, $0.subscribed, $0.refused) }
            if done {
                outcome = .success(seen.withLock { $0.replicas })
            } else if let refused {
                outcome = .failure(Failure(description: "the broker refused the connection: \(refused)"))
            } else {
                if !published, subscribed {
                    do {
                        try client.publish(topic: marker, payload: [1], qos: 1)
                        published = true
                    } catch {
                        // Connected a moment ago and lost again: the next round publishes.
                    }
                }
                do { try await Task.sleep(for: .milliseconds(20)) } catch { outcome = .failure(Failure(description: "cancelled")) }
            }
        }
        await client.stop()
        return try (outcome ?? .failure(Failure(description: published
            ? "no answer from the broker within \(timeout) (a broker ACL must let this identity read and write \(UplinkTopics.root)/central/probe/#)"
            : "cannot connect to \(options.host):\(options.port) within \(timeout)"))).get()
    }
}
