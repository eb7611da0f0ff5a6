import Foundation
import Logging
import MillwrightCore
import MQTTClient
import ServiceLifecycle
import Synchronization

/// Receives batches from every edge, validates them, stores them deduplicated in batched
/// transactions, and acknowledges only what is committed.
public final class CentralIngestService: Service {
    let config: CentralConfiguration
    let store: any IngestStore
    let logger: Logger
    /// A message from the broker, already decoded on the MQTT thread.
    enum Incoming: Sendable {
        case status(site: String, edge: String, json: String)
        case batch(Result<ValidBatch, RejectedBatch>, topic: String)
    }

    let queue = Mutex<[Incoming]>([])
    /// Signalled when the committer takes the queue, for an MQTT thread waiting for room.
    let room = NSCondition()
    /// Batches waiting for a commit, at most: beyond this the MQTT thread waits, so a flood
    /// backs up into the socket and the broker instead of into our memory.
    static let maxQueued = 256
    let doorbell: AsyncStream<Void>
    let ring: AsyncStream<Void>.Continuation
    let counters = Mutex(CentralIngestStats())
    let clientBox = Mutex<MQTTClient?>(nil)

    public init(config: CentralConfiguration, store: any IngestStore, logger: Logger) {
        self.config = config
        self.store = store
        self.logger = logger
        (doorbell, ring) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    public var stats: CentralIngestStats { counters.withLock { $0 } }

    func presence(_ state: CentralPresence.State) -> [UInt8] {
        let p = CentralPresence(state: state, central: config.central, since: .now())
        return Array((try? JSONEncoder().encode(p)) ?? Data())
    }

    public func run() async throws {
        var options = config.broker
        options.will = .init(topic: UplinkTopics.centralPresence, payload: presence(.offline))
        let online = presence(.online)
        let client = try MQTTClient(options: options, logger: logger, onMessage: { [weak self] m in
            self?.enqueue(m)
        }, onConnectionChange: { [weak self] e in
            // Announce ourselves on every (re)connect; the will covers a crash.
            guard case .connected = e, let client = self?.clientBox.withLock({ $0 }) else { return }
            do {
                try client.publish(topic: UplinkTopics.centralPresence, payload: online, qos: 1, retain: true)
            } catch {
                // Edges hold their backlogs until they see this; the next connect announces again.
                self?.logger.warning("could not announce the central online", metadata: ["error": "\(error)"])
            }
        })
        let events = config.sharedSubscription.map { "$share/\($0)/\(UplinkTopics.allEvents)" } ?? UplinkTopics.allEvents
        try client.subscribe(events, qos: 1)
        try client.subscribe(UplinkTopics.allStatus, qos: 1)
        clientBox.withLock { $0 = client }
        client.start()
        await withGracefulShutdownHandler {
            for await _ in doorbell {
                try? await Task.sleep(for: .milliseconds(config.commitWindow.value))
                await drain(client)
            }
        } onGracefulShutdown: {
            self.ring.finish()
        }
        await drain(client)
        // A clean stop does not fire the will: say offline ourselves, then disconnect.
        do {
            try client.publish(topic: UplinkTopics.centralPresence, payload: presence(.offline), qos: 1, retain: true)
        } catch {
            logger.warning("could not announce the central offline at stop; edges resend to it until a central answers", metadata: ["error": "\(error)"])
        }
        try? await Task.sleep(for: .milliseconds(100))
        client.stop()
        clientBox.withLock { $0 = nil }
    }

    /// On the MQTT thread: decode here (so decoding and committing use both cores), then queue
    /// and wake the committer.
    func enqueue(_ m: MQTTMessage) {
        let item: Incoming
        if let (site, edge) = UplinkTopics.parse(m.topic, kind: "status") {
            item = .status(site: site, edge: edge, json: String(decoding: m.payload, as: UTF8.self))
        } else {
            item = .batch(BatchDecoder.decode(topic: m.topic, payload: m.payload, maxBytes: config.maxBatchBytes), topic: m.topic)
        }
        while queue.withLock({ $0.count }) >= Self.maxQueued {
            room.lock()
            _ = room.wait(until: Date(timeIntervalSinceNow: 0.05))
            room.unlock()
        }
        let wasEmpty = queue.withLock { q -> Bool in
            defer { q.append(item) }
            return q.isEmpty
        }
        if wasEmpty { ring.yield() }
    }

    /// Validates everything queued, commits it in one transaction, then acknowledges.
    func drain(_ client: MQTTClient) async {
        while true {
            let messages = queue.withLock { q -> [Incoming] in
                defer { q.removeAll(keepingCapacity: true) }
                return q
            }
            room.withLock { room.broadcast() }
            if messages.isEmpty { return }
            var valid: [ValidBatch] = []
            var rejected: [RejectedBatch] = []
            let now = Timestamp.now()
            for m in messages {
                switch m {
                case .status(let site, let edge, let json):
                    do { try await store.recordStatus(edge: edge, site: site, json: json, at: now) } catch {
                        // Only the latest status is kept; the edge republishes it on its next change.
                        counters.withLock { $0.storeErrors += 1 }
                        logger.warning("could not keep an edge's status", metadata: ["edge": "\(edge)", "error": "\(error)"])
                    }
                case .batch(.success(let b), _):
                    valid.append(b)
                case .batch(.failure(let r), let topic):
                    rejected.append(r)
                    logger.error("batch refused; kept raw in rejected_batches", metadata: [
                        "topic": "\(topic.prefix(200))", "kind": "\(r.kind.rawValue)", "reason": "\(r.reason)"])
                }
            }
            do {
                let results = try await store.commit(valid, rejected: rejected, now: now)
                counters.withLock { c in
                    c.batches += valid.count
                    c.rejectedBatches += rejected.count
                    for r in rejected { c.rejectedByReason[r.kind.rawValue, default: 0] += 1 }
                    for r in results {
                        c.eventsStored += r.inserted
                        c.duplicates += r.duplicates
                    }
                    c.lastCommitAt = now
                }
            } catch {
                // Nothing acknowledged: the edges resend after their ack timeout.
                counters.withLock { $0.storeErrors += 1 }
                logger.error("central store commit failed; edges will resend", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
                continue
            }
            for b in valid {
                acknowledge(client, site: b.site, edge: b.edge, ack: UplinkAck(batch: b.batch, committed: SeqRange.covering(b.events.map(\.seq))))
            }
            for r in rejected {
                guard let site = r.site, let edge = r.edge, let batch = r.batch else { continue }
                // Too broken to name its sequence numbers: answered by batch id, so the edge stops resending it.
                // Refused only for its size: the edge keeps the events and resends them in smaller batches.
                let sizeLimit = r.kind == .tooLarge ? config.maxBatchBytes : nil
                acknowledge(client, site: site, edge: edge, ack: UplinkAck(batch: batch, committed: [], rejected: r.ranges,
                                                                          reason: r.reason, batchRefused: r.ranges.isEmpty ? true : nil,
                                                                          maxBatchBytes: sizeLimit))
            }
        }
    }

    func acknowledge(_ client: MQTTClient, site: String, edge: String, ack: UplinkAck) {
        guard let payload = try? JSONEncoder().encode(ack) else { return }
        do {
            try client.publish(topic: UplinkTopics.ack(site: site, edge: edge), payload: Array(payload), qos: 1)
        } catch {
            // The edge resends after its timeout; the duplicate is recognised and acknowledged then.
            logger.warning("could not send an ack", metadata: ["edge": "\(edge)", "error": "\(error)"])
        }
    }
}

public struct CentralIngestStats: Sendable, Codable, Hashable {
    public var batches = 0
    public var eventsStored = 0
    public var duplicates = 0
    public var rejectedBatches = 0
    /// Refused batches since start, per `BatchRefusalReason` raw value.
    public var rejectedByReason: [String: Int] = [:]
    public var storeErrors = 0
    public var lastCommitAt: Timestamp?

    enum CodingKeys: String, CodingKey {
        case batches
        case eventsStored = "events_stored"
        case duplicates
        case rejectedBatches = "rejected_batches"
        case rejectedByReason = "rejected_by_reason"
        case storeErrors = "store_errors"
        case lastCommitAt = "last_commit_at"
    }
}
