import EdgeConfig
import Foundation
import Logging
import MillwrightCore
import MQTTClient
import ServiceLifecycle
import Synchronization

/// Builds the running edge agent from a configuration: store, pipeline, services.
/// `main` and the integration tests both go through here.
public struct EdgeAgent: Sendable {
    public enum EventOutput: String, Sendable, CaseIterable {
        case none, text, json
    }

    public struct Options: Sendable {
        public var configPath: String
        public var eventOutput: EventOutput = .none
        public var simulator: SensorSimulator.Options?
        public var synchronousFull = true
        /// Acknowledge plant readings only after their commit (the product); false only for the
        /// benchmark's reference measurement.
        public var acknowledgeAfterCommit = true

        public init(configPath: String) { self.configPath = configPath }
    }

    public let config: EdgeConfiguration
    public let store: EdgeStore
    public let pipeline: IngestPipeline
    public let writer: EventWriter
    public let ingest: IngestService
    public let reloader: ConfigReloadService
    public let clock: ClockService
    public let simulator: SensorSimulator?
    public let uplink: UplinkService?
    let statusSource: StatusSource

    public init(config: EdgeConfiguration, options: Options, logger: Logger) throws {
        self.config = config
        var outbox = config.outbox
        if !options.synchronousFull { outbox.synchronousFull = false }
        store = try EdgeStore(path: (config.dataDir as NSString).appendingPathComponent("edge.sqlite"),
                              site: config.site, edge: config.edge, limits: outbox)
        if let warning = store.startupWarning { logger.warning("edge store opened degraded", metadata: ["reason": "\(warning)"]) }
        let (restored, unreadable) = try store.loadRuleStates()
        if !unreadable.isEmpty {
            // Their rules start fresh: an alarm active before the restart is raised again if still true.
            logger.error("saved rule state could not be read; these instances start fresh", metadata: [
                "count": "\(unreadable.count)", "instances": "\(unreadable.prefix(10).map(\.key))",
                "first_reason": "\(unreadable[0].reason.prefix(300))"])
        }
        let output = options.eventOutput
        let uplinkBox = UplinkBox()
        writer = EventWriter(store: store, keepQuarantine: config.ingest.quarantineKeep, logger: logger) { events in
            EdgeAgent.print(events, as: output)
            uplinkBox.service.withLock { $0 }?.nudge()
        }
        pipeline = IngestPipeline(config: config, restoredStates: restored, sink: writer)
        ingest = IngestService(pipeline: pipeline, writer: writer, logger: logger, gated: options.acknowledgeAfterCommit)
        reloader = ConfigReloadService(path: options.configPath, pipeline: pipeline, ingest: ingest,
                                       watchInterval: config.ingest.watchInterval, logger: logger)
        simulator = options.simulator.map { SensorSimulator(options: $0, logger: logger) }
        let statusSource = StatusSource(store: store, pipeline: pipeline, writer: writer, ingest: ingest, reloader: reloader,
                                        uplink: uplinkBox)
        self.statusSource = statusSource
        if let u = config.uplink {
            let service = UplinkService(config: u, site: config.site, edge: config.edge, store: store, logger: logger) {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                return Array((try? encoder.encode(statusSource.snapshot())) ?? Data())
            }
            uplinkBox.service.withLock { $0 = service }
            uplink = service
        } else {
            uplink = nil
        }
        let store = self.store
        let dataDir = config.dataDir
        clock = ClockService(pipeline: pipeline, settings: config.ingest, logger: logger, writeStatus: {
            do { try statusSource.snapshot().write(dataDir: dataDir) } catch {
                logger.warning("cannot write the status file", metadata: ["error": "\(error)"])
            }
        }, housekeeping: {
            do {
                try store.expire()
            } catch {
                logger.error("outbox expiry failed", metadata: ["error": "\(error)"])
            }
        })
        logger.info("edge agent ready", metadata: [
            "site": "\(config.site)", "edge": "\(config.edge)", "sensors": "\(config.sensors.count)",
            "restored_instances": "\(restored.count)", "boot_epoch": "\(store.bootEpoch)", "store": "\(store.path)",
        ])
    }

    /// In start order; `ServiceGroup` stops them in reverse, so the writer stops last
    /// and commits what the others handed over while stopping.
    public var services: [any Service] {
        var list: [any Service] = [writer, clock]
        if let uplink { list.append(uplink) }
        list += [ingest, reloader] as [any Service]
        if let simulator { list.append(simulator) }
        return list
    }

    public var status: EdgeStatus { statusSource.snapshot() }

    static func print(_ events: [EventEnvelope], as output: EventOutput) {
        switch output {
        case .none: return
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            for e in events { if let d = try? encoder.encode(e) { Swift.print(String(decoding: d, as: UTF8.self)) } }
        case .text:
            for e in events { Swift.print(e.summaryLine) }
        }
        fflush(nil)  // all streams: `stdout` itself is a C global Swift 6 will not touch
    }
}

final class StatusSource: Sendable {
    let store: EdgeStore
    let pipeline: IngestPipeline
    let writer: EventWriter
    let ingest: IngestService
    let reloader: ConfigReloadService
    let uplink: UplinkBox
    let startedAt = Timestamp.now()
    let lastCounts = Mutex<(at: Timestamp, received: Int, promoted: Int, rates: EdgeStatus.Rates)?>(nil)

    init(store: EdgeStore, pipeline: IngestPipeline, writer: EventWriter, ingest: IngestService, reloader: ConfigReloadService,
         uplink: UplinkBox) {
        self.store = store
        self.pipeline = pipeline
        self.writer = writer
        self.ingest = ingest
        self.reloader = reloader
        self.uplink = uplink
    }

    func snapshot() -> EdgeStatus {
        let config = pipeline.configuration
        let w = writer.stats
        let p = pipeline.stats
        let totals = store.outboxTotals
        let up = uplink.service.withLock { $0 }?.stats
        let now = Timestamp.now()
        let oldest = (try? store.oldestCommittedAt()).flatMap { $0 }
        let outbox = OutboxStatus(
            backlogEvents: totals.events, backlogBytes: totals.bytes,
            oldestUnacknowledgedAgeSeconds: oldest.map { (now - $0).seconds },
            drainETASeconds: uplink.drainETA(backlog: totals.events, acknowledged: up?.eventsAcknowledged ?? 0, now: now),
            drops: (try? store.drops()) ?? [])
        let rates = lastCounts.withLock { last -> EdgeStatus.Rates in
            guard let prev = last, now - prev.at >= Millis(500) else {
                if last == nil { last = (now, p.messagesReceived, p.eventsPromoted, .init(ingestPerSecond: 0, promotePerSecond: 0)) }
                return last!.rates
            }
            let dt = (now - prev.at).seconds
            let r = EdgeStatus.Rates(ingestPerSecond: Double(p.messagesReceived - prev.received) / dt,
                                     promotePerSecond: Double(p.eventsPromoted - prev.promoted) / dt)
            last = (now, p.messagesReceived, p.eventsPromoted, r)
            return r
        }
        return EdgeStatus(
            agentVersion: MillwrightVersion.current, configVersion: config.version, site: config.site, edge: config.edge,
            pid: getpid(), startedAt: startedAt, updatedAt: .now(), bootEpoch: store.bootEpoch, brokers: ingest.connections,
            pipeline: p, eventsCommitted: w.eventsCommitted, storeErrors: w.storeErrors, lastStoreError: w.lastError,
            lastReload: reloader.lastReload, recentQuarantine: Array(pipeline.recentQuarantine.suffix(10)),
            outbox: outbox, uplink: up, rates: rates)
    }
}

/// The uplink (if configured) as the status source sees it, plus a drain-rate estimate.
final class UplinkBox: Sendable {
    let service = Mutex<UplinkService?>(nil)
    let rate = Mutex<(at: Timestamp, acknowledged: Int, perSecond: Double)?>(nil)

    /// Backlog over the acknowledgement rate since the previous status; nil while nothing drains.
    func drainETA(backlog: Int, acknowledged: Int, now: Timestamp) -> Double? {
        rate.withLock { r in
            if let prev = r, now - prev.at >= Millis(500) {
                let perSecond = Double(acknowledged - prev.acknowledged) / (now - prev.at).seconds
                r = (now, acknowledged, perSecond)
            } else if r == nil {
                r = (now, acknowledged, 0)
            }
            guard let per = r?.perSecond, per > 0 else { return backlog == 0 ? 0 : nil }
            return Double(backlog) / per
        }
    }
}

extension EventEnvelope {
    /// One readable line: "10:00:00.123 ALARM limit_raised press-01/temperature value=96.2 severity=high".
    public var summaryLine: String {
        let time = occurredAt.rfc3339
        let clock = time.dropFirst(11).prefix(12)
        let fields = values.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.rounded)" }.joined(separator: " ")
        let seqText = seq.map { " #\($0)" } ?? ""
        return "\(clock) \(priority.rawValue.uppercased().padding(7)) \(type.rawValue.padding(14)) \(equipment)/\(signal) \(fields)\(seqText)"
    }
}

extension Value {
    /// Numbers cut to 3 decimals for reading; the stored event keeps full precision.
    fileprivate var rounded: String {
        guard case .number(let d) = self, d.rounded() != d else { return description }
        return Value.number((d * 1000).rounded() / 1000).description
    }
}

extension String {
    fileprivate func padding(_ n: Int) -> String { count >= n ? self : self + String(repeating: " ", count: n - count) }
}
