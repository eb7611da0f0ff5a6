@testable import CentralIngest
import CentralSQLite
import CentralSync
import Foundation
import MillwrightCore
import Synchronization
import TestSupport
import Testing

/// A retention run makes way for a busy ingest on SQLite (one writer): after each chunk it pauses
/// so that deleting takes at most `retention.pace` of its time while the ingest commits, and never
/// pauses on a store nobody writes to. The pause comes before each chunk, the first included. bench/retention-soak measures what it buys.
@Suite struct RetentionPacingTests {
    @Test func thePauseKeepsDeletingToItsShareOnlyWhileTheIngestIsActive() {
        let p = RetentionPacing(pace: 0.1)
        #expect(p.pause(after: .milliseconds(50), ingestActive: true) == .milliseconds(450))
        #expect(p.pause(after: .milliseconds(50), ingestActive: false) == .zero)
        #expect(p.pause(after: .seconds(5), ingestActive: true) == .seconds(10), "capped")
        #expect(RetentionPacing(pace: 1).pause(after: .milliseconds(50), ingestActive: true) == .zero)
        #expect(RetentionPacing(pace: 0.5).pause(after: .milliseconds(50), ingestActive: true) == .milliseconds(50))
    }

    @Test func aRunPausesBesideACommittingIngestAndNotOnAnIdleStore() async throws {
        let dir = try TemporaryDirectory.make(prefix: "pacing")
        let db = try CentralStore(path: dir.appendingPathComponent("central.sqlite").path)
        let ingest = SQLiteIngestStore(db)
        let t0 = Timestamp(milliseconds: 1_764_000_100_000)
        // 30 summaries of 2025-11-24, expired 400 days on (summaries keep 90 days).
        let contract = RetentionContractTests()
        _ = try await ingest.commit([try contract.batch(1...10), try contract.batch(edge: "gw-2", 1...10), try contract.batch(edge: "gw-3", 1...10)],
                                    rejected: [], now: t0)
        #expect(db.ingestActivity.isActive(within: .seconds(3600)), "a commit marks the ingest active")
        var settings = RetentionSettings()
        settings.chunk = 5
        let pauses = Mutex<[Duration]>([])
        func job(window: Duration) -> RetentionJob {
            RetentionJob(settings: settings, store: SQLiteRetentionStore(db), needs: nil, feedCursor: nil, logger: StoreBackend.logger,
                         pacing: RetentionPacing(pace: settings.pace, activeWindow: window), pause: { d in pauses.withLock { $0.append(d) } })
        }
        // Beside an ingest that committed within the window (an hour here, so that a loaded
        // machine's scheduling cannot end it): pauses between chunks.
        let busy = await job(window: .seconds(3600)).run(now: t0 + .days(400))
        #expect(busy.error == nil && busy.deleted["summaries"] == 29, "all but the newest row: \(busy)")
        #expect(!pauses.withLock { $0 }.isEmpty)
        #expect(pauses.withLock { $0 }.allSatisfy { $0 > .zero && $0 <= .seconds(10) })

        // Once the ingest has been idle for longer than the window: no pause.
        #expect(await eventuallyAsync(timeout: 30) { !db.ingestActivity.isActive(within: .seconds(1)) })
        _ = try await ingest.commit([try contract.batch(edge: "gw-4", 1...10), try contract.batch(edge: "gw-5", 1...10)], rejected: [], now: t0)
        #expect(await eventuallyAsync(timeout: 30) { !db.ingestActivity.isActive(within: .seconds(1)) })
        pauses.withLock { $0 = [] }
        let idle = await job(window: .seconds(1)).run(now: t0 + .days(400))
        #expect(idle.error == nil && (idle.deleted["summaries"] ?? 0) > 0, "\(idle)")
        #expect(pauses.withLock { $0 }.isEmpty)
    }
}
