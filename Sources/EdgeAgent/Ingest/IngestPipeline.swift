import EdgeConfig
import EdgeRules
import Foundation
import MillwrightCore
import Synchronization

/// Decode -> time checks -> rules -> envelopes, for every message of every broker.
///
/// Runs synchronously on the MQTT network thread (no hop per message); one `Mutex`
/// guards all rule state so reload, tick and checkpoint can run from other threads.
/// Only promoted events, rule state and quarantine samples leave, through the sink.
public final class IngestPipeline: Sendable {
    /// Bound on sensor instances, so a flood of invented equipment names cannot exhaust memory.
    public static let maxInstances = 100_000

    let sink: any EventSink
    let idScheme: EventIDScheme
    let state: Mutex<State>

    struct Instance {
        var key: String
        var sensor: Int
        var equipment: String
        var signal: String
        var rules: SensorRules
        var dirty = false
        var needsTick: Bool
    }

    struct State {
        var config: EdgeConfiguration
        var decoders: [PayloadDecoder]
        var router: TopicRouter
        var instances: [Instance] = []
        var instanceIndex: [String: Int] = [:]
        /// Topic -> instance indices; rebuilt lazily after a reload.
        var topicCache: [String: [Int]] = [:]
        var stats = PipelineStats()
        var counts: [QuarantineKey: Int] = [:]
        var recentQuarantine: [QuarantineEntry] = []
        var nextID = 0
        var scratch: [RuleEvent] = []
        /// Instances marked dirty since the last checkpoint (may hold some saved since).
        var dirtyList: [Int] = []
    }

    public init(config: EdgeConfiguration, restoredStates: [RuleStateRecord] = [], sink: any EventSink,
                idScheme: EventIDScheme = .random) {
        self.sink = sink
        self.idScheme = idScheme
        var s = State(config: config, decoders: config.sensors.map { PayloadDecoder($0.decode) },
                      router: TopicRouter(sensors: config.sensors))
        for record in restoredStates {
            guard let sensor = config.sensors.firstIndex(where: { $0.name == record.sensor }) else { continue }
            let specs = config.sensors[sensor].rules(forEquipment: record.equipment)
            Self.addInstance(&s, key: record.key, sensor: sensor, equipment: record.equipment, signal: record.signal,
                             rules: record.rules.reconfigured(to: specs))
        }
        state = Mutex(s)
    }

    public var configuration: EdgeConfiguration { state.withLock { $0.config } }

    static func instanceKey(sensor: String, equipment: String, signal: String) -> String {
        "\(sensor)|\(equipment)|\(signal)"
    }

    @discardableResult
    static func addInstance(_ s: inout State, key: String, sensor: Int, equipment: String, signal: String, rules: SensorRules) -> Int {
        let i = s.instances.count
        s.instances.append(Instance(key: key, sensor: sensor, equipment: equipment, signal: signal, rules: rules,
                                    needsTick: rules.needsTick))
        s.instanceIndex[key] = i
        s.stats.instances = s.instances.count
        return i
    }

    // MARK: the hot path

    /// Handles one message. Never throws: bad input is counted and quarantined.
    public func handle(broker: String, topic: String, payload: [UInt8], receivedAt: Timestamp) {
        state.withLock { s in
            var out = PipelineOutput()
            s.stats.messagesReceived += 1
            s.stats.lastMessageAt = receivedAt
            let (targets, overCap) = resolve(&s, broker: broker, topic: topic)
            if targets.isEmpty {
                s.stats.messagesRejected += 1
                let refusal = overCap
                    ? RuleRejection(.tooManyInstances, "a new sensor instance, but \(Self.maxInstances) are tracked already (check the topic patterns)")
                    : RuleRejection(.unknownTopic, "no sensor pattern matches this topic")
                quarantine(&s, &out, refusal, sensor: "-", topic: topic, payload: payload, at: receivedAt)
                sink.accept(out)
                return
            }
            if payload.count > s.config.ingest.maxPayloadBytes {
                s.stats.messagesRejected += 1
                let sensor = s.config.sensors[s.instances[targets[0]].sensor].name
                quarantine(&s, &out, RuleRejection(.oversized, "\(payload.count) bytes, limit max_payload_bytes is \(s.config.ingest.maxPayloadBytes)"),
                           sensor: sensor, topic: topic, payload: payload, at: receivedAt)
                sink.accept(out)
                return
            }
            var processed = false
            payload.withUnsafeBytes { bytes in
                for i in targets where process(&s, &out, instance: i, topic: topic, bytes: bytes, payload: payload, receivedAt: receivedAt) {
                    processed = true
                }
            }
            if processed { s.stats.messagesProcessed += 1 } else { s.stats.messagesRejected += 1 }
            if !out.isEmpty { sink.accept(out) }
        }
    }

    /// The instances a topic feeds, creating new ones up to `maxInstances`; `overCap` when a
    /// matching instance could not be created.
    private func resolve(_ s: inout State, broker: String, topic: String) -> (indices: [Int], overCap: Bool) {
        let cacheKey = s.config.brokers.count > 1 ? "\(broker)\u{0}\(topic)" : topic
        if let hit = s.topicCache[cacheKey] { return (hit, false) }
        var indices: [Int] = []
        var overCap = false
        for route in s.router.routes(broker: broker, topic: topic) {
            let name = s.config.sensors[route.sensor].name
            let key = Self.instanceKey(sensor: name, equipment: route.equipment, signal: route.signal)
            if let i = s.instanceIndex[key] {
                indices.append(i)
            } else if s.instances.count < Self.maxInstances {
                let specs = s.config.sensors[route.sensor].rules(forEquipment: route.equipment)
                indices.append(Self.addInstance(&s, key: key, sensor: route.sensor, equipment: route.equipment,
                                                signal: route.signal, rules: SensorRules(specs: specs)))
            } else {
                overCap = true
            }
        }
        // Not cached over the cap: the answer names the reason each time.
        if overCap { return (indices, true) }
        if s.topicCache.count >= TopicRouter.maxCachedTopics { s.topicCache.removeAll(keepingCapacity: true) }
        s.topicCache[cacheKey] = indices
        return (indices, false)
    }

    /// Feeds one sensor instance; returns whether the rules saw the sample.
    private func process(_ s: inout State, _ out: inout PipelineOutput, instance i: Int, topic: String,
                         bytes: UnsafeRawBufferPointer, payload: [UInt8], receivedAt: Timestamp) -> Bool {
        let sensorIndex = s.instances[i].sensor
        let sensorName = s.config.sensors[sensorIndex].name
        let reading: DecodedReading
        switch s.decoders[sensorIndex].decode(bytes) {
        case .success(let r): reading = r
        case .failure(let rejection):
            quarantine(&s, &out, rejection, sensor: sensorName, topic: topic, payload: payload, at: receivedAt)
            return false
        }
        var sample = Sample(value: reading.value, receivedAt: receivedAt)
        if let sensorTime = reading.sensorTime, s.instances[i].rules.isAlreadySeen(sensorTime: sensorTime) {
            // Exactly once for readings with sensor time: a redelivery is recognised, not promoted again.
            s.counts[QuarantineKey(reason: .alreadySeen, sensor: sensorName), default: 0] += 1
            return false
        }
        if let sensorTime = reading.sensorTime {
            let ingest = s.config.ingest
            var skew: RuleRejection?
            if sensorTime - receivedAt > ingest.maxFutureSkew {
                skew = RuleRejection(.futureTimestamp, "sensor time \(sensorTime.rfc3339) is \((sensorTime - receivedAt).seconds)s ahead of the edge clock (max_future_skew \(ingest.maxFutureSkew))")
            } else if receivedAt - sensorTime > ingest.maxPastAge {
                skew = RuleRejection(.pastTimestamp, "sensor time \(sensorTime.rfc3339) is older than max_past_age \(ingest.maxPastAge)")
            }
            if let skew {
                quarantine(&s, &out, skew, sensor: sensorName, topic: topic, payload: payload, at: receivedAt)
                if ingest.onClockSkew == .reject { return false }
                sample.timeSource = .receiveSkewed
            } else {
                sample.time = sensorTime
                sample.timeSource = .sensor
            }
        }
        s.scratch.removeAll(keepingCapacity: true)
        if sample.timeSource == .sensor { s.instances[i].rules.lastSensorTime = sample.time }
        let rejection = s.instances[i].rules.observe(sample, into: &s.scratch)
        if let rejection {
            quarantine(&s, &out, rejection, sensor: sensorName, topic: topic, payload: payload, at: receivedAt)
        }
        emit(&s, &out, instance: i, receivedAt: receivedAt)
        return true
    }

    /// Wraps the rule events in `scratch` into envelopes; saves the instance's state with them.
    private func emit(_ s: inout State, _ out: inout PipelineOutput, instance i: Int, receivedAt: Timestamp) {
        guard !s.scratch.isEmpty else {
            if !s.instances[i].dirty {
                s.instances[i].dirty = true
                s.dirtyList.append(i)
            }
            return
        }
        let inst = s.instances[i]
        let sensorName = s.config.sensors[inst.sensor].name
        for e in s.scratch {
            out.events.append(EventEnvelope(
                eventID: nextID(&s), site: s.config.site, edge: s.config.edge, equipment: inst.equipment,
                signal: inst.signal, type: e.type, priority: e.type.defaultPriority, occurredAt: e.occurredAt,
                timeSource: e.timeSource, edgeReceivedAt: receivedAt, values: e.values, rule: "\(sensorName).\(e.kind.rawValue)"))
        }
        s.stats.eventsPromoted += s.scratch.count
        out.states.append(record(inst, sensorName: sensorName, at: receivedAt))
        s.instances[i].dirty = false
    }

    private func record(_ inst: Instance, sensorName: String, at: Timestamp) -> RuleStateRecord {
        RuleStateRecord(key: inst.key, sensor: sensorName, equipment: inst.equipment, signal: inst.signal,
                        rules: inst.rules, updatedAt: at)
    }

    private func nextID(_ s: inout State) -> String {
        switch idScheme {
        case .random:
            return UUID().uuidString.lowercased()
        case .sequential(let prefix):
            s.nextID += 1
            let n = String(s.nextID)
            return prefix + String(repeating: "0", count: max(0, 6 - n.count)) + n
        }
    }

    private func quarantine(_ s: inout State, _ out: inout PipelineOutput, _ r: RuleRejection, sensor: String,
                            topic: String, payload: [UInt8], at: Timestamp) {
        s.counts[QuarantineKey(reason: r.reason, sensor: sensor), default: 0] += 1
        let keep = s.config.ingest.quarantineKeep
        guard keep > 0 else { return }
        let sample = payload.prefix(QuarantineEntry.payloadSampleBytes)
        let entry = QuarantineEntry(at: at, reason: r.reason, sensor: sensor, topic: String(topic.prefix(512)),
                                    detail: r.detail, payload: String(decoding: sample, as: UTF8.self))
        out.quarantine.append(entry)
        s.recentQuarantine.append(entry)
        if s.recentQuarantine.count > min(keep, 100) { s.recentQuarantine.removeFirst(s.recentQuarantine.count - min(keep, 100)) }
    }

    // MARK: clock, checkpoints, status

    /// Drives stale watchdogs, window closes and counter flushes up to `now`.
    public func tick(now: Timestamp) {
        state.withLock { s in
            var out = PipelineOutput()
            for i in s.instances.indices where s.instances[i].needsTick {
                s.scratch.removeAll(keepingCapacity: true)
                s.instances[i].rules.tick(now: now, into: &s.scratch)
                // A tick that promotes nothing changes nothing worth saving.
                if !s.scratch.isEmpty { emit(&s, &out, instance: i, receivedAt: now) }
            }
            if !out.isEmpty { sink.accept(out) }
        }
    }

    /// Hands the state of every instance that changed without an event to the sink.
    public func checkpoint(now: Timestamp) {
        state.withLock { s in
            var out = PipelineOutput()
            for i in s.dirtyList where i < s.instances.count && s.instances[i].dirty {
                let inst = s.instances[i]
                out.states.append(record(inst, sensorName: s.config.sensors[inst.sensor].name, at: now))
                s.instances[i].dirty = false
            }
            s.dirtyList.removeAll(keepingCapacity: true)
            if !out.isEmpty { sink.accept(out) }
        }
    }

    public var stats: PipelineStats {
        state.withLock { s in
            var st = s.stats
            st.quarantined = s.counts.map { QuarantineCount(reason: $0.key.reason, sensor: $0.key.sensor, count: $0.value) }
                .sorted { ($0.sensor, $0.reason) < ($1.sensor, $1.reason) }
            return st
        }
    }

    public var recentQuarantine: [QuarantineEntry] { state.withLock { $0.recentQuarantine } }
}
