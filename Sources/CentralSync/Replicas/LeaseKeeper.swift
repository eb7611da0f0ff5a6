import Foundation
import Logging
import MillwrightCore
import ServiceLifecycle
import Synchronization

/// Holds, or waits for, the lease on the synchronisation's singleton jobs (ERP import, reconcile
/// pass, planning snapshots) for this replica.
///
/// Why a service of its own: the lease is renewed every third of its time to live, whatever the
/// jobs' own cadence, so the holder keeps it between runs and status shows one holder, not one
/// that hops. A job runs only while the lease is held by the local clock too (renewal sent plus the
/// time to live), and its writes are fenced in the store by the lease it ran under: a replica
/// paused longer than the lease (SIGSTOP, a frozen VM) finds on waking that its writes are refused,
/// and that another replica holds the lease.
public final class LeaseKeeper: Service {
    public static let syncJobs = "sync-jobs"

    let leases: any LeaseStore
    public let holder: String
    let ttl: Duration
    let logger: Logger
    let state = Mutex<(lease: Lease?, validUntil: ContinuousClock.Instant?)>((nil, nil))
    let counters = Mutex(Stats())
    /// Jobs wait for the first renewal before their first run, so a replica that will hold the
    /// lease does not skip it at start-up.
    let firstAttempt = Mutex<(done: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))
    /// Set by `nudge()`: try the lease now instead of at the next renewal period.
    let nudged = Mutex(false)

    public struct Stats: Sendable, Hashable {
        /// Times this replica took the lease (a takeover or the first acquisition).
        public var acquired = 0
        /// Times it found the lease gone to another replica, or could not renew in time.
        public var lost = 0
        /// Job runs skipped because another replica holds the lease.
        public var standbySkips = 0
        /// Writes refused because the lease had been lost meanwhile.
        public var fencedWrites = 0
    }

    public init(leases: any LeaseStore, holder: String, ttl: Duration, logger: Logger) {
        self.leases = leases
        self.holder = holder
        self.ttl = ttl
        self.logger = logger
    }

    public var stats: Stats { counters.withLock { $0 } }

    /// The lease, while it is held by the local clock.
    public var held: Lease? {
        state.withLock { s in
            guard let lease = s.lease, let until = s.validUntil, ContinuousClock.now < until else { return nil }
            return lease
        }
    }

    /// Returns once the first renewal was attempted (held or not).
    public func started() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let done = firstAttempt.withLock { s -> Bool in
                if !s.done { s.waiters.append(c) }
                return s.done
            }
            if done { c.resume() }
        }
    }

    /// How long a standby job waits before asking again: a renewal period.
    public var standbyRetry: Duration { ttl / 3 }

    /// Another replica went away (its presence said so): a standby asks for the lease at once
    /// rather than at its next renewal, so a clean stop hands the jobs over in well under a second.
    public func nudge() { nudged.withLock { $0 = true } }

    public func run() async throws {
        defer { markStarted() }
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await renewOnce()
            markStarted()
            // A renewal period, or less after a nudge (looked at every 50 ms).
            let until = ContinuousClock.now + ttl / 3
            while ContinuousClock.now < until, !nudged.withLock({ n in defer { n = false }; return n }),
                  !Task.isShuttingDownGracefully, !Task.isCancelled {
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(50)) }
            }
        }
        if let lease = held {
            // A clean stop hands over at once instead of after the time to live.
            do { try await leases.release(lease.name, holder: holder) } catch {
                logger.warning("could not release the sync-jobs lease; it expires on its own", metadata: ["error": "\(error)"])
            }
        }
    }

    func markStarted() {
        let waiters = firstAttempt.withLock { s -> [CheckedContinuation<Void, Never>] in
            defer { s = (true, []) }
            return s.waiters
        }
        for w in waiters { w.resume() }
    }

    public func renewOnce() async {
        let sent = ContinuousClock.now
        // What this replica last held, even if it lapsed meanwhile (a pause longer than the lease).
        let before = state.withLock { $0.lease }
        do {
            let lease = try await leases.acquire(Self.syncJobs, holder: holder, ttl: ttl)
            state.withLock { $0 = (lease, lease.map { _ in sent + ttl }) }
            if let lease, before?.token != lease.token {
                counters.withLock { $0.acquired += 1 }
                logger.notice("this replica now runs the ERP import, reconcile passes and planning snapshots",
                              metadata: ["lease": "\(lease.name)", "token": "\(lease.token)", "holder": "\(holder)"])
            } else if lease == nil, before != nil {
                counters.withLock { $0.lost += 1 }
                logger.warning("lease lost to another replica; this one stands by", metadata: ["lease": "\(Self.syncJobs)"])
            }
        } catch {
            // The lease stays usable until its local deadline, then lapses by itself.
            logger.error("cannot renew the sync-jobs lease", metadata: ["error": "\(error)"])
        }
    }

    /// Runs `body` under the lease (its store writes fenced by it) if this replica holds it;
    /// false when another replica does.
    @discardableResult
    public func underLease(_ job: String, _ body: () async throws -> Void) async throws -> Bool {
        guard let lease = held else {
            counters.withLock { $0.standbySkips += 1 }
            logger.debug("another replica holds the lease; skipped", metadata: ["job": "\(job)"])
            return false
        }
        do {
            try await Lease.$current.withValue(lease) { try await body() }
        } catch let lost as LeaseLost {
            counters.withLock { $0.fencedWrites += 1 }
            state.withLock { $0 = (nil, nil) }
            logger.warning("the lease was lost during the job; its writes were refused", metadata: ["job": "\(job)", "error": "\(lost)"])
            return false
        }
        return true
    }
}
