import CentralIngest
import Foundation
import Logging
import MillwrightCore
import ServiceLifecycle

/// Runs `RetentionJob` every `retention.every` in the replica holding the singleton jobs' lease
/// (one replica deletes and archives; the others stand by), and warns when the store nears its
/// volume's size.
public final class RetentionService: Service {
    let job: RetentionJob
    let keeper: LeaseKeeper?
    let logger: Logger
    /// The first run waits this long after start-up, so a restarting central first catches up with its edges.
    let firstDelay: Duration

    public init(job: RetentionJob, keeper: LeaseKeeper?, firstDelay: Duration = .seconds(60), logger: Logger) {
        self.job = job
        self.keeper = keeper
        self.firstDelay = firstDelay
        self.logger = logger
    }

    public func run() async throws {
        await keeper?.started()
        try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.firstDelay) }
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            if let keeper {
                _ = try? await keeper.underLease("retention") { await self.once() }
            } else {
                await once()
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.job.settings.every.duration) }
        }
    }

    func once() async {
        await job.run(stop: { Task.isShuttingDownGracefully || Task.isCancelled })
        await warnIfFull()
    }

    /// A store past `volume_warning` of its volume is logged at every run.
    func warnIfFull() async {
        do {
            guard let fill = try await StoreFill.measure(job.store, settings: job.settings) else { return }
            if fill.overThreshold {
                logger.warning("the store fills \(fill.percent)% of its volume (warning at \(Int(job.settings.volumeWarning * 100))%): shorten retention, archive, or grow the volume",
                               metadata: ["store_bytes": "\(fill.storeBytes)", "volume_bytes": "\(fill.volumeBytes)"])
            }
        } catch {
            logger.error("retention: cannot measure the store", metadata: ["error": "\(error)"])
        }
    }
}

/// How full the store's volume is: the store's size against the volume's (`volume_size`, or the
/// file system of a SQLite store), used by `status` and the retention service's warning.
public struct StoreFill: Sendable, Hashable {
    public var storeBytes: Int64
    public var volumeBytes: Int64
    /// Used on the volume by anything (file system), or the store alone (a configured size).
    public var usedBytes: Int64
    public var threshold: Double

    public var share: Double { volumeBytes > 0 ? Double(usedBytes) / Double(volumeBytes) : 0 }
    public var percent: Int { Int((share * 100).rounded()) }
    public var overThreshold: Bool { share >= threshold }

    public static func measure(_ store: any RetentionStore, settings: RetentionSettings) async throws -> StoreFill? {
        let bytes = try await store.storeBytes()
        if let size = settings.volumeBytes {
            return StoreFill(storeBytes: bytes, volumeBytes: size, usedBytes: bytes, threshold: settings.volumeWarning)
        }
        guard let v = try await store.volume() else { return nil }
        return StoreFill(storeBytes: bytes, volumeBytes: v.size, usedBytes: v.size - v.free, threshold: settings.volumeWarning)
    }
}
