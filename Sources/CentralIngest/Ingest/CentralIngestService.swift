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
    /// This replica's name in presence: its broker client id.
    public var replica: String { config.replicaID }
    /// The other replicas (and this one), from their presence messages.
    let peers = Mutex(CentralReplicas())
    /// Set when the clean stop begins: from then on this replica takes no new batches and no longer
    /// tells edges of release 1 that the service is online.
    let stopping = Mutex(false)
    /// Message ids the broker took while stopping (the hand-over waits for its last messages).
    let takenWhileStopping = Mutex<Set<Int32>>([])
    /// How long a clean stop waits for batches already on their way to this replica once it has
    /// unsubscribed, and at most for the broker to take its last messages.
    static let handOverQuiet = Duration.milliseconds(300)
    static let handOverLimit = Duration.seconds(5)

    /// Called (on the MQTT thread) when another replica goes away, for work that can move at once.
    let onReplicaGone: @Sendable (String) -> Void

    public init(config: CentralConfiguration, store: any IngestStore, logger: Logger,
                onReplicaGone: @escaping @Sendable (String) -> Void = { _ in }) {
        self.config = config
        self.store = store
        self.logger = logger
        self.onReplicaGone = onReplicaGone
        (doorbell, ring) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    public var stats: CentralIngestStats { counters.withLock { $0 } }

    func presence(_ state: CentralPresence.State, reason: CentralPresence.OfflineReason? = nil, since: Timestamp? = .now(),
                  replica: String?) -> [UInt8] {
        let p = CentralPresence(state: state, central: config.central, since: since, replica: replica, reason: reason)
        do { return Array(try JSONEncoder().encode(p)) } catch {
            preconditionFailure("a presence message of plain fields always encodes: \(error)")
        }
    }

    /// The subscription batches arrive on (shared between replicas when configured).
    var eventsFilter: String { config.sharedSubscription.map { "$share/\($0)/\(UplinkTopics.allEvents)" } ?? UplinkTopics.allEvents }

    public func run() async throws {
        var options = config.broker
        // The will speaks for this replica only: its loss never makes the service look offline
        // while another replica runs (docs/PROTOCOL.md, "Presence").
        options.will = .init(topic: UplinkTopics.replicaPresence(replica),
                             payload: presence(.offline, reason: .lost, since: nil, replica: replica))
        let client = try MQTTClient(options: options, logger: logger, onMessage: { [weak self] m in
            self?.received(m)
        }, onConnectionChange: { [weak self] e in
            // Announce ourselves on every (re)connect; the will covers a crash.
            guard case .connected = e, let self, let client = clientBox.withLock({ $0 }) else { return }
            peers.withLock { $0.reset() }
            announce(client, .online, on: UplinkTopics.replicaPresence(replica), replica: replica)
            announce(client, .online, on: UplinkTopics.centralPresence, replica: nil)
        }, onPublished: { [weak self] mid in
            guard let self, stopping.withLock({ $0 }) else { return }
            takenWhileStopping.withLock { _ = $0.insert(mid) }
        })
        try client.subscribe(eventsFilter, qos: 1)
        try client.subscribe(UplinkTopics.allStatus, qos: 1)
        try client.subscribe(UplinkTopics.allReplicaPresence, qos: 1, retainHandling: .always)
        try client.subscribe(UplinkTopics.centralPresence, qos: 1, retainHandling: .always)
        clientBox.withLock { $0 = client }
        client.start()
        await withGracefulShutdownHandler {
            for await _ in doorbell {
                try? await Task.sleep(for: config.commitWindow.duration)
                await drain(client)
            }
        } onGracefulShutdown: {
            self.ring.finish()
        }
        await handOver(client)
        await client.stop()
        clientBox.withLock { $0 = nil }
    }

    /// Publishes a retained presence message; a failure is logged (the next connect announces again).
    @discardableResult
    func announce(_ client: MQTTClient, _ state: CentralPresence.State, reason: CentralPresence.OfflineReason? = nil,
                  on topic: String, replica: String?) -> Int32? {
        do {
            return try client.publish(topic: topic, payload: presence(state, reason: reason, replica: replica), qos: 1, retain: true)
        } catch {
            logger.warning("could not announce this replica \(state.rawValue)", metadata: ["topic": "\(topic)", "error": "\(error)"])
            return nil
        }
    }

    /// The clean stop: take no new batches, commit and acknowledge what is here, then tell the edges
    /// this replica is gone (they resend at once whatever it may still have held), and disconnect.
    func handOver(_ client: MQTTClient) async {
        stopping.withLock { $0 = true }
        do { try client.unsubscribe(eventsFilter) } catch {
            logger.warning("could not unsubscribe from the batches at stop; the edges resend what arrives after it", metadata: ["error": "\(error)"])
        }
        // Batches the broker routed here before the unsubscribe still arrive: commit them until
        // none has come for a moment (bounded; anything later is resent by its edge).
        let clock = ContinuousClock()
        let deadline = clock.now + Self.handOverLimit
        var quietSince = clock.now
        while clock.now < deadline, clock.now - quietSince < Self.handOverQuiet {
            if queue.withLock({ !$0.isEmpty }) {
                await drain(client)
                quietSince = clock.now
            } else {
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        await drain(client)
        // Edges of release 1 read only the service-wide topic: offline there only if no other
        // replica runs (they re-assert it otherwise).
        let last = !peers.withLock { $0.othersOnline(than: replica) }
        let awaited = [announce(client, .offline, reason: .stopped, on: UplinkTopics.replicaPresence(replica), replica: replica),
                       last ? announce(client, .offline, reason: .stopped, on: UplinkTopics.centralPresence, replica: nil) : nil]
            .compactMap { $0 }
        // The broker sends in order: once it took these, every ack before them was sent too.
        let taken = clock.now + Self.handOverLimit
        while clock.now < taken,
              !takenWhileStopping.withLock({ t in awaited.allSatisfy { t.contains($0) } }) {
            try? await Task.sleep(for: .milliseconds(10))
        }
        let s = stats
        logger.notice("replica handed over: no longer taking batches", metadata: [
            "replica": "\(replica)", "last_replica": "\(last)", "events_stored": "\(s.eventsStored)"])
    }

    /// On the MQTT thread: presence messages update the view of the replicas; everything else is
    /// a batch or an edge's status.
    func received(_ m: MQTTMessage) {
        guard let u = peers.withLock({ $0.apply(topic: m.topic, payload: m.payload) }) else {
            enqueue(m)
            return
        }
        if let refused = u.refused {
            logger.warning("presence message not used", metadata: ["topic": "\(m.topic.prefix(200))", "reason": "\(refused)"])
        }
        if let lost = u.lost, lost != replica {
            logger.notice("a central replica went away; its edges resend to the others", metadata: ["replica": "\(lost)"])
            onReplicaGone(lost)
        }
        // The service-wide topic says offline (a replica stopping that thought it was the last, a
        // replica of release 1 ending, or a stray publisher) while this one runs: correct it for the
        // edges of release 1.
        if m.topic == UplinkTopics.centralPresence, peers.withLock({ $0.service == .offline }), !stopping.withLock({ $0 }),
           let client = clientBox.withLock({ $0 }) {
            announce(client, .online, on: UplinkTopics.centralPresence, replica: nil)
        }
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
                acknowledge(client, site: b.site, edge: b.edge, ack: UplinkAck(batch: b.batch, epoch: b.epoch, committed: SeqRange.covering(b.events.map(\.seq))))
            }
            for r in rejected {
                guard r.answered, let site = r.site, let edge = r.edge, let batch = r.batch else { continue }
                // Too broken to name its sequence numbers: answered by batch id, so the edge stops resending it.
                // Refused only for its size: the edge keeps the events and resends them in smaller batches.
                let sizeLimit = r.kind == .tooLarge ? config.maxBatchBytes : nil
                acknowledge(client, site: site, edge: edge, ack: UplinkAck(batch: batch, epoch: r.epoch, committed: [], rejected: r.ranges,
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
