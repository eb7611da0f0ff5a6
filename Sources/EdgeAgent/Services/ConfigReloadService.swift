import ConfigSupport
import EdgeConfig
import Foundation
import Logging
import MillwrightCore
import ServiceLifecycle
import Synchronization
import UnixSignals

/// Reloads the configuration on SIGHUP and when the file changes.
///
/// An invalid new file is rejected with every reason logged, and the running
/// configuration stays; a valid one is swapped in without dropping messages.
public final class ConfigReloadService: Service {
    let path: String
    let pipeline: IngestPipeline
    let ingest: IngestService
    let watchInterval: Millis
    let logger: Logger
    let last = Mutex<ReloadStatus?>(nil)

    public init(path: String, pipeline: IngestPipeline, ingest: IngestService, watchInterval: Millis, logger: Logger) {
        self.path = path
        self.pipeline = pipeline
        self.ingest = ingest
        self.watchInterval = watchInterval
        self.logger = logger
    }

    public var lastReload: ReloadStatus? { last.withLock { $0 } }

    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
                    self.logger.info("SIGHUP: reloading configuration", metadata: ["file": "\(self.path)"])
                    await self.reload(reason: "SIGHUP")
                }
            }
            if watchInterval.value > 0 {
                group.addTask { await self.watchFile() }
            }
        }
    }

    /// Polls the file's text; a change (by hash, not mtime) triggers a reload.
    func watchFile() async {
        var lastText = try? String(contentsOfFile: path, encoding: .utf8)
        let interval = watchInterval.duration
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            guard let text = try? String(contentsOfFile: path, encoding: .utf8), text != lastText else { continue }
            lastText = text
            logger.info("configuration file changed: reloading", metadata: ["file": "\(path)"])
            await reload(reason: "file changed")
        }
    }

    /// Settings a reload cannot apply to the running agent (read once at start-up): sensors,
    /// rules, brokers and the ingest checks apply at once; these wait for a restart.
    static func needingRestart(from old: EdgeConfiguration, to new: EdgeConfiguration) -> [String] {
        var out: [String] = []
        if old.uplink != new.uplink { out.append("uplink") }
        if old.outbox != new.outbox { out.append("outbox") }
        let (a, b) = (old.ingest, new.ingest)
        if a.tickInterval != b.tickInterval { out.append("ingest.tick_interval") }
        if a.checkpointInterval != b.checkpointInterval { out.append("ingest.checkpoint_interval") }
        if a.statusInterval != b.statusInterval { out.append("ingest.status_interval") }
        if a.watchInterval != b.watchInterval { out.append("ingest.watch_interval") }
        if a.quarantineKeep != b.quarantineKeep { out.append("ingest.quarantine_keep") }
        return out
    }

    /// Validates and applies the file; returns whether it was accepted.
    @discardableResult
    public func reload(reason: String) async -> Bool {
        let status: ReloadStatus
        do {
            let config = try EdgeConfiguration.load(file: path)
            if config.version == pipeline.configuration.version {
                return true
            }
            let later = Self.needingRestart(from: pipeline.configuration, to: config)
            try pipeline.reconfigure(to: config)
            try await ingest.apply(config)
            let message = "applied (\(reason))" + (later.isEmpty ? "" : "; takes effect at the next restart: \(later.joined(separator: ", "))")
            status = ReloadStatus(at: .now(), accepted: true, configVersion: config.version, message: message)
            logger.notice("configuration reloaded", metadata: ["config_version": "\(config.version)", "sensors": "\(config.sensors.count)"])
            if !later.isEmpty {
                logger.warning("these changed settings take effect at the next restart", metadata: ["settings": "\(later)"])
            }
        } catch let error as ConfigError {
            status = ReloadStatus(at: .now(), accepted: false, configVersion: pipeline.configuration.version,
                                  message: "rejected, running configuration kept:\n\(error)")
            logger.error("new configuration rejected; the running one stays", metadata: ["file": "\(path)", "errors": "\n\(error)"])
        } catch {
            status = ReloadStatus(at: .now(), accepted: false, configVersion: pipeline.configuration.version,
                                  message: "rejected, running configuration kept: \(error)")
            logger.error("new configuration rejected; the running one stays", metadata: ["file": "\(path)", "error": "\(error)"])
        }
        last.withLock { $0 = status }
        return status.accepted
    }
}
