import EdgeConfig
import Logging
import MillwrightCore
import ServiceLifecycle

/// The agent's clock: ticks the rules, checkpoints rule state, rewrites the status file.
public struct ClockService: Service {
    let pipeline: IngestPipeline
    let settings: IngestSettings
    let writeStatus: @Sendable () -> Void
    /// Slow chores (outbox TTL expiry), every `housekeepingInterval`.
    let housekeeping: @Sendable () -> Void
    let logger: Logger
    static let housekeepingInterval = Millis.seconds(10)

    public init(pipeline: IngestPipeline, settings: IngestSettings, logger: Logger, writeStatus: @escaping @Sendable () -> Void,
                housekeeping: @escaping @Sendable () -> Void = {}) {
        self.pipeline = pipeline
        self.settings = settings
        self.logger = logger
        self.writeStatus = writeStatus
        self.housekeeping = housekeeping
    }

    public func run() async throws {
        var lastCheckpoint = Timestamp.now()
        var lastStatus = Timestamp(milliseconds: 0)
        var lastHousekeeping = Timestamp(milliseconds: 0)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let interval = Duration.milliseconds(settings.tickInterval.value)
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            if Task.isShuttingDownGracefully { break }
            let now = Timestamp.now()
            pipeline.tick(now: now)
            if now - lastCheckpoint >= settings.checkpointInterval {
                pipeline.checkpoint(now: now)
                lastCheckpoint = now
            }
            if now - lastHousekeeping >= Self.housekeepingInterval {
                housekeeping()
                lastHousekeeping = now
            }
            if now - lastStatus >= settings.statusInterval {
                writeStatus()
                lastStatus = now
            }
        }
        // Save every rule's latest state so a restart resumes exactly here.
        pipeline.checkpoint(now: .now())
        writeStatus()
    }
}
