import EdgeConfig
import Foundation
import Logging
import MillwrightCore
import MQTTClient
import ServiceLifecycle

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
    let statusSource: StatusSource

    public init(config: EdgeConfiguration, options: Options, logger: Logger) throws {
        self.config = config
        store = try EdgeStore(path: (config.dataDir as NSString).appendingPathComponent("edge.sqlite"),
                              synchronousFull: options.synchronousFull)
        let restored = try store.loadRuleStates()
        let output = options.eventOutput
        writer = EventWriter(store: store, keepQuarantine: config.ingest.quarantineKeep, logger: logger) { events in
            EdgeAgent.print(events, as: output)
        }
        pipeline = IngestPipeline(config: config, restoredStates: restored, sink: writer)
        ingest = IngestService(pipeline: pipeline, logger: logger)
        reloader = ConfigReloadService(path: options.configPath, pipeline: pipeline, ingest: ingest,
                                       watchInterval: config.ingest.watchInterval, logger: logger)
        simulator = options.simulator.map { SensorSimulator(options: $0, logger: logger) }
        let statusSource = StatusSource(store: store, pipeline: pipeline, writer: writer, ingest: ingest, reloader: reloader)
        self.statusSource = statusSource
        let dataDir = config.dataDir
        clock = ClockService(pipeline: pipeline, settings: config.ingest, logger: logger) {
            do { try statusSource.snapshot().write(dataDir: dataDir) } catch {
                logger.warning("cannot write the status file", metadata: ["error": "\(error)"])
            }
        }
        logger.info("edge agent ready", metadata: [
            "site": "\(config.site)", "edge": "\(config.edge)", "sensors": "\(config.sensors.count)",
            "restored_instances": "\(restored.count)", "boot_epoch": "\(store.bootEpoch)", "store": "\(store.path)",
        ])
    }

    /// In start order; `ServiceGroup` stops them in reverse, so the writer stops last
    /// and commits what the others handed over while stopping.
    public var services: [any Service] {
        var list: [any Service] = [writer, clock, ingest, reloader]
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

struct StatusSource: Sendable {
    let store: EdgeStore
    let pipeline: IngestPipeline
    let writer: EventWriter
    let ingest: IngestService
    let reloader: ConfigReloadService
    let startedAt = Timestamp.now()

    func snapshot() -> EdgeStatus {
        let config = pipeline.configuration
        let w = writer.stats
        return EdgeStatus(
            agentVersion: MillwrightVersion.current, configVersion: config.version, site: config.site, edge: config.edge,
            pid: getpid(), startedAt: startedAt, updatedAt: .now(), bootEpoch: store.bootEpoch, brokers: ingest.connections,
            pipeline: pipeline.stats, eventsCommitted: w.eventsCommitted, storeErrors: w.storeErrors, lastStoreError: w.lastError,
            lastReload: reloader.lastReload, recentQuarantine: Array(pipeline.recentQuarantine.suffix(10)))
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
