import CentralIngest
import Foundation
import Logging
import MillwrightCore

/// One retention run: per class and type, the expired events oldest first, a chunk at a time;
/// those still needed stay, the rest are archived (when an archive is set) and deleted in one
/// short transaction per chunk, so the ingest commits between chunks.
///
/// Still needed, whatever their age (docs/SYNC.md, "What retention keeps"):
/// - events the immediate tier has not read yet (after its `event_postings` cursor);
/// - events cited by a posting not yet acknowledged (pending, sent, dead), a review item or an
///   unassigned span (`RetentionNeeds`);
/// - events a hold covers (`archive load` makes one);
/// - the newest row of the table (SQLite would give its id out again).
/// Counts are never younger than `reconcile.horizon` plus a day when they expire (the
/// configuration refuses less), so the reconcile pass never loses one it reads back.
public struct RetentionJob: Sendable {
    public let settings: RetentionSettings
    public let store: any RetentionStore
    /// The synchronisation's needs; nil when it is off (then nothing but holds protects an event).
    public let needs: (any RetentionNeeds)?
    /// The immediate tier's cursor; nil when the synchronisation is off.
    public let feedCursor: (@Sendable () async throws -> FeedPosition)?
    public let logger: Logger
    /// Waits between chunks while the ingest is busy (`RetentionPacing`); a test records it instead.
    let pause: @Sendable (Duration) async -> Void
    /// From `settings.pace`; a test may widen its window.
    let pacing: RetentionPacing

    public init(settings: RetentionSettings, store: any RetentionStore, needs: (any RetentionNeeds)?,
                feedCursor: (@Sendable () async throws -> FeedPosition)?, logger: Logger,
                pacing: RetentionPacing? = nil, pause: @escaping @Sendable (Duration) async -> Void = RetentionJob.sleep) {
        self.settings = settings
        self.store = store
        self.needs = needs
        self.feedCursor = feedCursor
        self.logger = logger
        self.pause = pause
        self.pacing = pacing ?? RetentionPacing(pace: settings.pace)
    }

    /// A pause cut short by cancellation ends early; the run's `stop` check ends the run.
    public static func sleep(_ d: Duration) async {
        do { try await Task.sleep(for: d) } catch { return }
    }

    /// Runs once; `stop` is asked between chunks (a shutdown ends the run there). The run is
    /// recorded in the store, with its error if one stopped it.
    @discardableResult
    public func run(now: Timestamp = .now(), stop: @Sendable () -> Bool = { false }) async -> RetentionRun {
        let started = Timestamp.now()
        var deleted: [String: Int] = [:]
        var archived = 0, kept = 0
        var failure: String?
        var paused = Duration.zero
        /// What the last chunk took; before the first, an estimate of a chunk on a busy store.
        var lastChunk = Duration.milliseconds(50)
        let archive = settings.archiveDir.map(EventArchive.init(directory:))
        do {
            let keep = RetentionKeep(upTo: try await feedCursor?(), cited: try await needs?.citedEventKeys() ?? [],
                                     holds: try await store.holds(now: now))
            try await store.preparePeriods(settings, now: now)
            var archiveRows: (@Sendable ([EventRow]) throws -> Void)?
            if let archive {
                archiveRows = { rows in _ = try archive.append(rows) }
            }
            classes: for c in RetentionClass.allCases {
                guard let retention = settings.retention(c) else { continue }
                if stop() { failure = "stopped by a shutdown"; break classes }
                let before = Timestamp(milliseconds: now.milliseconds - retention.value)
                // Whole periods first (PostgreSQL's months), then row by row what they left.
                let periods = try await store.dropExpiredPeriods(c, before: before, keep: keep, archive: archiveRows)
                var classDeleted = periods.deleted
                if archive != nil { archived += periods.deleted }
                for period in [nil] + periods.remaining.map(Optional.some) {
                    for type in c.types {
                        var after: RetentionPosition?
                        while true {
                            if stop() { failure = "stopped by a shutdown"; break classes }
                            // Make way for a busy ingest (SQLite's one writer): before every chunk,
                            // the first of the run included (timed by an estimate).
                            let wait = pacing.pause(after: lastChunk,
                                                    ingestActive: store.ingestActivity?.isActive(within: pacing.activeWindow) ?? false)
                            if wait > .zero {
                                paused += wait
                                await pause(wait)
                            }
                            let chunkStarted = ContinuousClock.now
                            let batch = try await store.expiredEvents(type: type.rawValue, before: before, after: after, upTo: keep.upTo,
                                                                      limit: settings.chunk, in: period)
                            guard let last = batch.last else { break }
                            after = RetentionPosition(occurredAt: last.occurredAt, row: last.row)
                            let going = batch.filter { !keep.keeps($0) }
                            kept += batch.count - going.count
                            if let archiveRows, !going.isEmpty {
                                try archiveRows(going)
                                archived += going.count
                            }
                            classDeleted += try await store.deleteEvents(going, in: period)
                            lastChunk = ContinuousClock.now - chunkStarted
                            if batch.count < settings.chunk { break }
                            // Progress on a long first run (a store that never had retention).
                            if classDeleted % (settings.chunk * 50) < settings.chunk {
                                logger.info("retention: deleting", metadata: ["class": "\(c.rawValue)", "deleted": "\(classDeleted)",
                                                                              "reached": "\(last.occurredAt.rfc3339)"])
                            }
                            await Task.yield()
                        }
                    }
                }
                if classDeleted > 0 { deleted[c.rawValue] = classDeleted }
            }
        } catch {
            failure = "\(error)"
        }
        let run = RetentionRun(startedAt: started, finishedAt: .now(), deleted: deleted, archived: archived, kept: kept, error: failure)
        do { try await store.recordRun(run) } catch {
            logger.error("retention: cannot record the run", metadata: ["error": "\(error)"])
        }
        let total = deleted.values.reduce(0, +)
        if let failure {
            logger.error("retention run stopped early: the rest waits for the next run", metadata: [
                "error": "\(failure)", "deleted": "\(total)", "archived": "\(archived)"])
        } else if total > 0 || kept > 0 {
            logger.info("retention run", metadata: ["deleted": "\(deleted.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))",
                                                    "archived": "\(archived)", "kept_still_needed": "\(kept)", "paused_for_ingest_s": "\(String(format: "%.1f", Double(paused.components.seconds) + Double(paused.components.attoseconds) / 1e18))",
                                                    "seconds": "\(String(format: "%.1f", (run.finishedAt - run.startedAt).seconds))"])
        }
        return run
    }
}
