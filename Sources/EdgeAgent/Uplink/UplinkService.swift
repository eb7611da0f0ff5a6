import EdgeConfig
import Foundation
import Logging
import MillwrightCore
import MQTTClient
import ServiceLifecycle
import Synchronization

/// Forwards the outbox to the central (protocol v1, docs/PROTOCOL.md).
///
/// Batches go out QoS 1, alarms first; the central acknowledges committed sequence
/// ranges and only then are events deleted here. Anything unacknowledged after
/// `ack_timeout`, or in flight when the link dropped, is sent again: the central
/// deduplicates on (edge, boot_epoch, seq), so a resend can never double an event.
public final class UplinkService: Service {
    let config: UplinkConfig
    let site: String
    let edge: String
    let store: EdgeStore
    let logger: Logger
    let statusPayload: @Sendable () -> [UInt8]
    let state: Mutex<State>
    let clientBox = Mutex<MQTTClient?>(nil)
    /// Rung by whatever gives the loop work: an ack or presence message, a PUBACK, a (re)connect,
    /// events committed to the outbox (`nudge`).
    let wake = WakeSignal()
    /// The last batch's payload buffer, kept for the next batch (see `encode`).
    let spareBuffer = Mutex<[UInt8]>([])
    /// Part of every batch id, new for each run: an ack can name a batch of this run only if it
    /// comes from someone who saw the batch (the central), never from a guess of epoch and counter.
    let runID = String(UInt64.random(in: 0...UInt64.max), radix: 16)

    struct State {
        /// Batch id -> when it was sent and what it carried; acks remove it, timeouts resend it.
        var inflight: [String: InflightBatch] = [:]
        var cursors: [PriorityClass: Int64] = [:]
        /// Acks as they arrived, with when (the window's latency ends there, not when the loop
        /// gets to them after sending).
        var pendingAcks: [(ack: UplinkAck, at: ContinuousClock.Instant)] = []
        /// The central's replicas, from their presence messages: the backlog is held while none is online.
        var central = CentralReplicas()
        /// A replica went away: what is in flight may sit with it unanswered, so it is resent (after
        /// the acks that arrived before the news are applied).
        var replicaLost = false
        var connects = 0
        var seenConnects = 0
        var nextBatch = 0
        var stats = UplinkStats()
        /// How many batches may be in flight now (adaptive or fixed, `uplink.window`).
        var window: UplinkWindow
        /// The central refused a batch for its size: batches stay below this (bytes).
        var batchBytesCap: Int?
        /// Message id -> batch id, until the broker takes the batch.
        var batchByMessage: [Int32: String] = [:]
        /// Broker PUBACKs that came before `publish` returned the id (and for status messages).
        var earlyHandOvers: [Int32: ContinuousClock.Instant] = [:]
        /// Which acks may delete what (only this run's batches, within their ranges).
        var gate: AckGate
        /// The last step stopped sending because `drain_events_per_second`/`drain_bytes_per_second` spent.
        var throttled = false
        /// Ignored acks not yet logged (one warning line per second at most; a flood of forged acks
        /// must not flood the log).
        var ignoredUnlogged = 0
        var lastIgnoredLog: ContinuousClock.Instant?

        /// Everything unacknowledged becomes eligible again (the central deduplicates what it had).
        /// A late ack for a batch resent here still lets go of what that batch carried.
        mutating func resendEverythingInFlight() {
            gate.supersede(inflight.mapValues(\.ranges))
            inflight.removeAll()
            cursors.removeAll()
            batchByMessage.removeAll()
            earlyHandOvers.removeAll()
        }

        /// The broker took message `mid`.
        mutating func handedOver(_ mid: Int32, at now: ContinuousClock.Instant) {
            if let id = batchByMessage.removeValue(forKey: mid) {
                inflight[id]?.handedOverAt = now
            } else {
                earlyHandOvers[mid] = now
            }
        }

        /// A batch just published as message `mid`.
        mutating func sent(_ id: String, _ batch: InflightBatch, mid: Int32) {
            var batch = batch
            if let at = earlyHandOvers.removeValue(forKey: mid) {
                batch.handedOverAt = at
            } else {
                batchByMessage[mid] = id
            }
            inflight[id] = batch
            // Status messages' PUBACKs match no batch: forget them once no batch can claim them.
            if earlyHandOvers.count > 64 { earlyHandOvers.removeAll() }
        }
    }

    public init(config: UplinkConfig, site: String, edge: String, store: EdgeStore, logger: Logger,
                statusPayload: @escaping @Sendable () -> [UInt8]) {
        self.config = config
        self.site = site
        self.edge = edge
        self.store = store
        self.logger = logger
        self.statusPayload = statusPayload
        state = Mutex(State(window: UplinkWindow(mode: config.window, cap: config.maxInflightBatches,
                                                 latencyTarget: config.effectiveTargetAckLatency.duration),
                            gate: AckGate(epoch: store.bootEpoch)))
    }

    public var stats: UplinkStats {
        state.withLock { s in
            var st = s.stats
            st.centralOnline = s.central.available
            st.centralReplicasOnline = s.central.online.count
            st.inflightBatches = s.inflight.count
            st.windowBatches = s.window.size
            st.windowChanges = s.window.changes
            st.connected = clientBox.withLock { $0?.isConnected ?? false }
            return st
        }
    }

    public func run() async throws {
        var options = config.options
        options.will = .init(topic: UplinkTopics.status(site: site, edge: edge),
                             payload: Array(#"{"state":"offline","edge":"\#(edge)","site":"\#(site)"}"#.utf8))
        let ackTopic = UplinkTopics.ack(site: site, edge: edge)
        let client = try MQTTClient(options: options, logger: logger, onMessage: { [weak self] m in
            self?.received(m, ackTopic: ackTopic)
            self?.wake.signal()
        }, onConnectionChange: { [weak self] e in
            // The broker sends every retained presence again after the resubscribe: start afresh.
            if case .connected = e { self?.state.withLock { $0.connects += 1; $0.central.reset() } }
            self?.wake.signal()
        }, onPublished: { [weak self] mid in
            let now = ContinuousClock.now
            self?.state.withLock { $0.handedOver(mid, at: now) }
        })
        try client.subscribe(ackTopic, qos: 1)
        // Presence is state: a restarted edge with a surviving session must still be told it. Per
        // replica (release 2 on), and the service-wide topic a central of release 1 publishes.
        try client.subscribe(UplinkTopics.allReplicaPresence, qos: 1, retainHandling: .always)
        try client.subscribe(UplinkTopics.centralPresence, qos: 1, retainHandling: .always)
        clientBox.withLock { $0 = client }
        client.start()
        var bucket = DrainBucket(eventsPerSecond: config.drainEventsPerSecond, bytesPerSecond: config.drainBytesPerSecond)
        var lastStatus = ContinuousClock.now - .seconds(3600)
        // Cancellation ends the loop as well as graceful shutdown (a cancelled sleep returns at once).
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            var progressed = false
            let (result, next) = await stepOffPool(client, bucket)
            bucket = next
            switch result {
            case .success(let p): progressed = p
            case .failure(let error): logger.error("uplink step failed; retrying", metadata: ["error": "\(error)"])
            }
            if ContinuousClock.now - lastStatus >= config.statusInterval.duration, client.isConnected {
                do {
                    try client.publish(topic: UplinkTopics.status(site: site, edge: edge), payload: statusPayload(), qos: 1, retain: true)
                } catch {
                    logger.debug("status not published; next interval", metadata: ["error": "\(error)"])
                }
                lastStatus = .now
            }
            if !progressed {
                // Nothing to do until something rings (an ack, presence, a connect, new events); the
                // timeout is for the clocks only: ack timeouts and the status interval while batches
                // are in flight or idle, the drain rate's refill while throttled.
                let (waitingForAcks, throttled) = state.withLock { (!$0.inflight.isEmpty, $0.throttled) }
                let timeout = Duration.milliseconds(throttled ? 20 : waitingForAcks ? 100 : 250)
                _ = await cancelWhenGracefulShutdown { await self.wake.wait(timeout: timeout) }
            }
        }
        await client.stop()
        clientBox.withLock { $0 = nil }
    }

    /// Events were committed to the outbox: send them now rather than at the loop's next timeout.
    public func nudge() { wake.signal() }

    /// A batch the central broker has not taken (no PUBACK) is resent after this many `ack_timeout`s.
    static let handOverFactor = 10

    /// SQLite blocks (reads for the next batch, deletes on ack): each step runs on the uplink's
    /// own queue, never on the cooperative thread pool the agent's other services share.
    let queue = BlockingQueue(label: "millwright.edge-uplink")

    func stepOffPool(_ client: MQTTClient, _ bucket: DrainBucket) async -> (Result<Bool, any Error>, DrainBucket) {
        await queue.perform {
            var b = bucket
            let result = Result { try self.step(client, &b) }
            return (result, b)
        }
    }

    /// On the MQTT thread: acks and presence are queued for the uplink loop.
    func received(_ m: MQTTMessage, ackTopic: String) {
        let decoder = JSONDecoder()
        if m.topic == ackTopic {
            let ack: UplinkAck
            do { ack = try decoder.decode(UplinkAck.self, from: Data(m.payload)) } catch {
                state.withLock { $0.stats.acksIgnored = ($0.stats.acksIgnored ?? [:]).merging([AckRefusal.unreadable.rawValue: 1], uniquingKeysWith: +) }
                logger.warning("unreadable ack: it deleted nothing", metadata: [
                    "payload": "\(String(decoding: m.payload.prefix(200), as: UTF8.self))", "error": "\(error)"])
                return
            }
            let now = ContinuousClock.now
            state.withLock { $0.pendingAcks.append((ack, now)) }
        } else {
            let result = state.withLock { s -> (update: CentralReplicas.Update, inflight: Int, online: [String])? in
                guard let u = s.central.apply(topic: m.topic, payload: m.payload) else { return nil }
                // The central is back (after an outage every edge drains at once): start small.
                if u.isAvailable && !u.wasAvailable { s.window.restart() }
                if u.lost != nil { s.replicaLost = true }
                return (u, s.inflight.count, s.central.online)
            }
            guard let (u, inflight, online) = result else { return }
            if let refused = u.refused {
                logger.warning("presence message not used", metadata: ["topic": "\(m.topic.prefix(200))", "reason": "\(refused)"])
            }
            if let lost = u.lost, u.isAvailable {
                logger.notice("a central replica went away: resending what is in flight to the others (the central deduplicates)",
                              metadata: ["replica": "\(lost)", "batches": "\(inflight)", "replicas_online": "\(online.joined(separator: ","))"])
            }
            if u.isAvailable != u.wasAvailable {
                // A central of release 1 names no replicas.
                logger.notice(u.isAvailable ? "central online: draining the outbox" : "central offline: holding the backlog",
                              metadata: online.isEmpty ? [:] : ["replicas_online": "\(online.joined(separator: ","))"])
            }
        }
    }

    /// One round: apply acks, handle timeouts and reconnects, send while the window allows.
    /// Returns whether anything happened (otherwise the loop naps briefly).
    func step(_ client: MQTTClient, _ bucket: inout DrainBucket) throws -> Bool {
        var progressed = false
        let pending = state.withLock { s -> [(ack: UplinkAck, at: ContinuousClock.Instant)] in
            defer { s.pendingAcks.removeAll() }
            return s.pendingAcks
        }
        let arrived = pending.map(\.ack)
        let arrivedAt = Dictionary(pending.map { ($0.ack.batch, $0.at) }, uniquingKeysWith: { first, _ in first })
        let epoch = store.bootEpoch
        // Refused for its size only: keep the events, send smaller batches, resend what is in flight
        // (the central deduplicates). A single event larger than the central's limit cannot shrink:
        // it is let go like any refused batch (the central keeps it raw).
        let tooLarge = state.withLock { s -> [(ack: UplinkAck, cap: Int)] in
            var shrink: [(ack: UplinkAck, cap: Int)] = []
            var inFlight = false
            for ack in arrived {
                // A batch resent since (after an earlier refusal for size, say) counts too: its events
                // were read again and must not be let go now.
                guard let limit = ack.maxBatchBytes, ack.epoch ?? epoch == epoch,
                      let ranges = s.inflight[ack.batch]?.ranges ?? s.gate.resent(ack.batch),
                      ranges.reduce(0, { $0 + Int($1.count) }) > 1 else { continue }
                let cap = max(1024, limit * 3 / 4)
                s.batchBytesCap = min(s.batchBytesCap ?? cap, cap)
                shrink.append((ack, cap))
                if s.inflight[ack.batch] != nil { inFlight = true } else { s.gate.forget(ack.batch) }
            }
            if inFlight {
                s.resendEverythingInFlight()
            }
            return shrink
        }
        for t in tooLarge {
            logger.warning("the central refuses batches this large: sending smaller batches (set uplink.batch_bytes below the central's max_batch_bytes)",
                           metadata: ["batch": "\(t.ack.batch)", "central_max_batch_bytes": "\(t.ack.maxBatchBytes ?? 0)", "batch_bytes_now": "\(t.cap)"])
        }
        if !tooLarge.isEmpty { progressed = true }
        // Every other ack is judged before it may delete anything (see `AckGate`).
        let judged = state.withLock { s -> (accepted: [(ack: UplinkAck, delete: [SeqRange], rejected: Int)],
                                            ignored: [(ack: UplinkAck, why: AckRefusal)]) in
            var accepted: [(ack: UplinkAck, delete: [SeqRange], rejected: Int)] = []
            var ignored: [(ack: UplinkAck, why: AckRefusal)] = []
            for ack in arrived where !tooLarge.contains(where: { $0.ack.batch == ack.batch }) {
                switch s.gate.judge(ack, inflight: s.inflight[ack.batch]?.ranges) {
                case .accept(let delete, let rejected): accepted.append((ack, delete, rejected))
                case .ignore(let why):
                    ignored.append((ack, why))
                    s.stats.acksIgnored = (s.stats.acksIgnored ?? [:]).merging([why.rawValue: 1], uniquingKeysWith: +)
                }
            }
            return (accepted, ignored)
        }
        logIgnored(judged.ignored)
        let acks = judged.accepted.map(\.ack)
        if !acks.isEmpty {
            // Every ack that piled up, deleted in one transaction.
            let deleted = try store.deleteAcknowledged(judged.accepted.flatMap(\.delete))
            let (before, after, latencyMs) = state.withLock { s -> (Int, Int, Double) in
                let before = s.window.size
                for ack in acks {
                    guard let batch = s.inflight.removeValue(forKey: ack.batch) else { continue }
                    let latency = (arrivedAt[ack.batch] ?? .now) - (batch.handedOverAt ?? batch.sentAt)
                    s.window.acked(batchEpoch: batch.windowEpoch, latency: latency)
                    // Smoothed over about the last ten acks, for status.
                    let ms = latency.inSeconds * 1000
                    s.stats.ackLatencyMs = s.stats.ackLatencyMs.map { $0 * 0.9 + ms * 0.1 } ?? ms
                }
                s.stats.eventsAcknowledged += deleted
                s.stats.lastAckAt = .now()
                s.stats.eventsRejectedByCentral += judged.accepted.reduce(0) { $0 + $1.rejected }
                return (before, s.window.size, s.stats.ackLatencyMs ?? 0)
            }
            if after != before {
                let metadata: Logger.Metadata = ["batches": "\(before) -> \(after)", "ack_latency_ms": "\(Int(latencyMs))",
                                                 "target_ms": "\(config.effectiveTargetAckLatency.value)"]
                if after > before {
                    logger.debug("uplink window grown: acks come back within the target latency", metadata: metadata)
                } else {
                    logger.info("uplink window shrunk: acks take longer than the target latency (the central is busy)", metadata: metadata)
                }
            }
            progressed = true
        }
        for ack in acks {
            if !ack.rejected.isEmpty || ack.batchRefused == true {
                logger.error("the central refused a batch; it keeps the raw batch for operators", metadata: [
                    "batch": "\(ack.batch)", "reason": "\(ack.reason ?? "-")"])
            }
        }
        let now = ContinuousClock.now
        let timeout = config.ackTimeout.duration
        let timedOut = state.withLock { s -> (batches: Int, window: Int)? in
            if s.replicaLost {
                // Acks that came before the news are applied above; the rest may never come.
                s.replicaLost = false
                s.stats.resentOnReplicaLoss = (s.stats.resentOnReplicaLoss ?? 0) + s.inflight.count
                s.resendEverythingInFlight()
            }
            let reconnected = s.connects != s.seenConnects
            let expired = s.inflight.values.contains { $0.overdue(now, ackTimeout: timeout, handOverTimeout: timeout * Self.handOverFactor) }
            var resent: (batches: Int, window: Int)?
            if reconnected || expired {
                // Everything unacknowledged becomes eligible again; the central deduplicates.
                if expired {
                    s.stats.resends += s.inflight.count
                    s.window.timedOut()
                    resent = (s.inflight.count, s.window.size)
                }
                if reconnected { s.window.restart() }
                s.resendEverythingInFlight()
                s.seenConnects = s.connects
            }
            return resent
        }
        if let timedOut {
            logger.warning("no ack within ack_timeout: resending everything in flight (the central deduplicates)",
                           metadata: ["batches": "\(timedOut.batches)", "window_now": "\(timedOut.window)"])
        }
        state.withLock { $0.throttled = false }
        guard client.isConnected, state.withLock({ $0.central.available }) else { return progressed }
        while true {
            let windowFull = state.withLock { s -> Bool in
                guard s.inflight.count >= s.window.size else { return false }
                s.window.full()
                return true
            }
            if windowFull { break }
            let cap = state.withLock { $0.batchBytesCap }
            let allowance = bucket.allowance(maxEvents: config.batchEvents, maxBytes: min(config.batchBytes, cap ?? .max))
            guard allowance.events > 0 else {
                state.withLock { $0.throttled = true }
                break
            }
            // Drops since the last batch go out first, as gap records: loss is never silent.
            try store.materializePendingGaps()
            let cursors = state.withLock { $0.cursors }
            var batch = startBatch()
            let rows = try store.readBatch(after: cursors, maxEvents: allowance.events, maxBytes: allowance.bytes) { row, body in
                batch.append(row, body)
            }
            guard !rows.isEmpty else {
                spareBuffer.withLock { $0 = batch.out }
                break
            }
            let (id, payload, historical) = batch.finish()
            let mid: Int32
            do {
                mid = try client.publish(topic: UplinkTopics.events(site: site, edge: edge), payload: payload, qos: 1)
            } catch {
                break  // Not connected any more: the reconnect resets the window.
            }
            bucket.spend(events: rows.count, bytes: payload.count)
            spareBuffer.withLock { $0 = payload }
            state.withLock { s in
                s.sent(id, InflightBatch(sentAt: .now, ranges: SeqRange.covering(rows.map(\.seq)),
                                         windowEpoch: s.window.epoch), mid: mid)
                for r in rows { s.cursors[r.priority] = max(s.cursors[r.priority] ?? 0, r.seq) }
                s.stats.batchesSent += 1
                s.stats.eventsSent += rows.count
                s.stats.historicalSent += historical
                s.stats.bytesSent += payload.count
            }
            progressed = true
        }
        return progressed
    }

    /// A batch being written: the header now, each event as it is read, the tail at `finish`.
    func startBatch() -> BatchPayload {
        let id = state.withLock { s -> String in
            s.nextBatch += 1
            return "\(store.bootEpoch)-\(runID)-\(s.nextBatch)"
        }
        // The previous batch's buffer, reused: a fresh half-megabyte array each batch costs page
        // faults and kernel page zeroing (about 8% of the edge's CPU during a drain).
        let buffer = spareBuffer.withLock { b -> [UInt8] in
            defer { b = [] }
            return b
        }
        return BatchPayload(id: id, epoch: store.bootEpoch, site: site, edge: edge, now: .now(), historicalAfter: config.historicalAfter, buffer: buffer,
                            capacity: config.batchBytes + 4096)
    }

    /// Acks that deleted nothing: one warning line per second at most, naming the last batch and
    /// how many more were ignored since the previous line (all are counted in status).
    func logIgnored(_ ignored: [(ack: UplinkAck, why: AckRefusal)]) {
        guard let last = ignored.last else { return }
        let now = ContinuousClock.now
        let more = state.withLock { s -> Int? in
            s.ignoredUnlogged += ignored.count
            if let l = s.lastIgnoredLog, now - l < .seconds(1) { return nil }
            defer { s.ignoredUnlogged = 0; s.lastIgnoredLog = now }
            return s.ignoredUnlogged - 1
        }
        guard let more else { return }
        logger.warning("ack ignored: it deleted nothing (not a batch this run sent and still awaits, or ranges it did not carry)", metadata: [
            "batch": "\(last.ack.batch.prefix(200))", "reason": "\(last.why.rawValue)", "epoch": "\(last.ack.epoch.map { "\($0)" } ?? "-")",
            "more_ignored_since_last_line": "\(more)"])
    }

}

/// Counters of the uplink, as reported in status output.
public struct UplinkStats: Sendable, Codable, Hashable {
    public var connected = false
    public var centralOnline = false
    /// Central replicas online, from their presence (0 with a central of release 1, which announces
    /// only the whole service). Optional, like the fields below, so an older status file still reads.
    public var centralReplicasOnline: Int?
    /// Batches sent again at once because a central replica went away while they were in flight.
    public var resentOnReplicaLoss: Int?
    /// Acks that deleted nothing, per `AckRefusal` raw value (forged, replayed from an earlier run,
    /// repeated, or naming ranges the batch did not carry). Empty until one arrives.
    public var acksIgnored: [String: Int]?
    public var inflightBatches = 0
    /// The window now: batches that may be in flight (`uplink.window`, `max_inflight_batches`).
    /// Optional, like the ack latency, so a status file written before they existed still reads.
    public var windowBatches: Int?
    public var windowChanges: WindowChanges?
    /// Milliseconds from the central broker taking a batch to the central's ack, smoothed.
    public var ackLatencyMs: Double?
    public var batchesSent = 0
    public var eventsSent = 0
    public var bytesSent = 0
    public var historicalSent = 0
    public var eventsAcknowledged = 0
    public var eventsRejectedByCentral = 0
    public var resends = 0
    public var lastAckAt: Timestamp?

    enum CodingKeys: String, CodingKey {
        case connected
        case centralOnline = "central_online"
        case centralReplicasOnline = "central_replicas_online"
        case resentOnReplicaLoss = "resent_on_replica_loss"
        case acksIgnored = "acks_ignored"
        case inflightBatches = "inflight_batches"
        case windowBatches = "window_batches"
        case windowChanges = "window_changes"
        case ackLatencyMs = "ack_latency_ms"
        case batchesSent = "batches_sent"
        case eventsSent = "events_sent"
        case bytesSent = "bytes_sent"
        case historicalSent = "historical_sent"
        case eventsAcknowledged = "events_acknowledged"
        case eventsRejectedByCentral = "events_rejected_by_central"
        case resends
        case lastAckAt = "last_ack_at"
    }
}

/// How often the adaptive window changed, and why (status output).
public struct WindowChanges: Sendable, Codable, Hashable {
    public var grown = 0
    public var shrunkForLatency = 0
    public var halvedOnTimeout = 0

    public init() {}

    enum CodingKeys: String, CodingKey {
        case grown
        case shrunkForLatency = "shrunk_for_latency"
        case halvedOnTimeout = "halved_on_timeout"
    }
}

/// Token buckets for the drain limits (events/s and bytes/s), with one second of burst.
struct DrainBucket {
    let eventsPerSecond: Double
    let bytesPerSecond: Double
    var events: Double
    var bytes: Double
    var last = ContinuousClock.now

    init(eventsPerSecond: Double, bytesPerSecond: Double) {
        self.eventsPerSecond = eventsPerSecond
        self.bytesPerSecond = bytesPerSecond
        events = eventsPerSecond
        bytes = bytesPerSecond
    }

    /// How much the next batch may carry now (0 events: wait).
    mutating func allowance(maxEvents: Int, maxBytes: Int) -> (events: Int, bytes: Int) {
        let now = ContinuousClock.now
        let dt = (now - last).inSeconds
        last = now
        if eventsPerSecond > 0 { events = min(eventsPerSecond, events + dt * eventsPerSecond) }
        if bytesPerSecond > 0 { bytes = min(bytesPerSecond, bytes + dt * bytesPerSecond) }
        let e = eventsPerSecond > 0 ? min(maxEvents, Int(events)) : maxEvents
        let b = bytesPerSecond > 0 ? min(maxBytes, Int(bytes)) : maxBytes
        return (b < 512 ? 0 : e, b)
    }

    mutating func spend(events e: Int, bytes b: Int) {
        if eventsPerSecond > 0 { events -= Double(e) }
        if bytesPerSecond > 0 { bytes -= Double(b) }
    }
}

/// What the uplink remembers of a batch until the central answers it.
struct InflightBatch: Sendable {
    var sentAt: ContinuousClock.Instant
    /// The sequence numbers it carried, for an answer that refuses the batch by id alone.
    var ranges: [SeqRange]
    /// The window it was sent under (only acks of these measure that window).
    var windowEpoch: Int
    /// When the central broker took it (its PUBACK); nil while it is still on its way.
    var handedOverAt: ContinuousClock.Instant?

    /// The central's answer is overdue: `ackTimeout` after the broker took the batch. The time the
    /// batch spends on the link before that does not count, so a window that takes longer than
    /// `ackTimeout` to cross a slow link is not resent while it is still arriving; a batch the
    /// broker has not taken within `handOverTimeout` is resent too (a lost connection is noticed by
    /// keepalive and resends everything anyway).
    func overdue(_ now: ContinuousClock.Instant, ackTimeout: Duration, handOverTimeout: Duration) -> Bool {
        if let handedOverAt { return now - handedOverAt > ackTimeout }
        return now - sentAt > handOverTimeout
    }
}
