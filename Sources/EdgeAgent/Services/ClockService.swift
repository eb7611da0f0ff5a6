import EdgeConfig
import Logging
import MillwrightCore
import ServiceLifecycle

/// The agent's clock: ticks the rules, checkpoints rule state, rewrites the status file.
///
/// Checkpoints (SQLite), housekeeping (SQLite deletes) and the status file block on the disk: they
/// run on the clock's own queue, never on the cooperative pool the other services share.
public struct ClockService: Service {
    let pipeline: IngestPipeline
    let settings: IngestSettings
    let writeStatus: @Sendable () -> Void
    /// Slow chores (outbox TTL expiry), every `housekeepingInterval`.
    let housekeeping: @Sendable () -> Void
    let logger: Logger
    static let housekeepingInterval = Millis.seconds(10)
    let chores = BlockingQueue(label: "millwright.edge-clock")

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
            let interval = settings.tickInterval.duration
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            if Task.isShuttingDownGracefully { break }
            let now = Timestamp.now()
            pipeline.tick(now: now)
            let checkpoint = now - lastCheckpoint >= settings.checkpointInterval
            let housekeep = now - lastHousekeeping >= Self.housekeepingInterval
            let status = now - lastStatus >= settings.statusInterval
            if checkpoint { lastCheckpoint = now }
            if housekeep { lastHousekeeping = now }
            if status { lastStatus = now }
            if checkpoint || housekeep || status {
                await chores.perform { [pipeline, housekeeping, writeStatus] in
                    if checkpoint { pipeline.checkpoint(now: now) }
                    if housekeep { housekeeping() }
                    if status { writeStatus() }
                }
            }
        }
        // Save every rule's latest state so a restart resumes exactly here.
        await chores.perform { [pipeline, writeStatus] in
            pipeline.checkpoint(now: .now())
            writeStatus()
        }
    }
}
