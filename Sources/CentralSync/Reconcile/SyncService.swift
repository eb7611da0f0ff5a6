import Foundation
import Logging
import MillwrightCore
import Reconciliation
import ServiceLifecycle
import Synchronization

/// Runs the reconcile pass on its cadence and wakes the dispatcher when postings were added.
public final class SyncService: Service {
    let pass: ReconcilePass
    let dispatcher: PostingDispatcher?
    /// With replicas: passes run only in the one holding the lease.
    let keeper: LeaseKeeper?
    let logger: Logger
    let lastOutcome = Mutex<ReconcilePass.Outcome?>(nil)
    /// Events left out because they could not be decoded, since start.
    public let undecodableTotal = Mutex(0)
    /// What was last logged as unassigned, so a span is logged when it appears or grows, not every pass.
    let loggedUnassigned = Mutex<[UnassignedSpan.Gap: Double]>([:])

    public init(pass: ReconcilePass, dispatcher: PostingDispatcher?, keeper: LeaseKeeper? = nil, logger: Logger) {
        self.pass = pass
        self.dispatcher = dispatcher
        self.keeper = keeper
        self.logger = logger
    }

    public var outcome: ReconcilePass.Outcome? { lastOutcome.withLock { $0 } }

    public func run() async throws {
        await keeper?.started()
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            if let keeper {
                do { try await keeper.underLease("reconcile") { try await self.passOnce(now: .now()) } } catch {
                    logger.error("reconcile pass failed; retrying next cycle", metadata: ["error": "\(error)"])
                }
            } else {
                await runOnce()
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.pass.config.reconcileEvery.duration) }
        }
    }

    public func runOnce(now: Timestamp = .now()) async {
        do { try await passOnce(now: now) } catch {
            logger.error("reconcile pass failed; retrying next cycle", metadata: ["error": "\(error)"])
        }
    }

    /// One pass and its reporting; throws what the pass throws (a lost lease among them).
    func passOnce(now: Timestamp) async throws {
        let o = try await pass.run(now: now)
        do {
            lastOutcome.withLock { $0 = o }
            if o.postingsCreated > 0 {
                logger.info("reconciled", metadata: ["postings_created": "\(o.postingsCreated)", "review_items": "\(o.reviewItems)"])
                dispatcher?.wake()
            }
            if !o.undecodableEvents.isEmpty {
                undecodableTotal.withLock { $0 += o.undecodableEvents.count }
                logger.error("stored events that cannot be decoded were left out of reconciliation", metadata: [
                    "count": "\(o.undecodableEvents.count)", "events": "\(o.undecodableEvents.prefix(10))"])
            }
            if !o.unreadableReleases.isEmpty {
                logger.error("order release postings that cannot be read were left out of the versions sent to the MES", metadata: [
                    "count": "\(o.unreadableReleases.count)", "postings": "\(o.unreadableReleases.prefix(5))"])
            }
            reportUnassigned(o.unattributed)
            if !o.unresolvedOrders.isEmpty {
                logger.debug("MES names orders the ERP import has not seen (yet)", metadata: ["orders": "\(o.unresolvedOrders.sorted())"])
            }
        }
    }

    /// Counts no order covers are logged at info when they appear or grow (they stay listed by
    /// `millwright-central review` and `status` until an order is assigned).
    func reportUnassigned(_ spans: [UnassignedSpan]) {
        let changed = loggedUnassigned.withLock { last -> [UnassignedSpan] in
            var now: [UnassignedSpan.Gap: Double] = [:]
            var changed: [UnassignedSpan] = []
            for s in spans {
                now[s.gap] = s.quantity
                if last[s.gap] != s.quantity { changed.append(s) }
            }
            last = now
            return changed
        }
        for s in changed {
            logger.info("counts no order covers: assign an order (millwright-central review, assign)", metadata: [
                "equipment": "\(s.equipment)", "kind": "\(s.kind.rawValue)", "material": "\(s.material)",
                "quantity": "\(s.quantity)", "from": "\(s.from.rfc3339)", "to": "\(s.to.rfc3339)", "events": "\(s.events.count)"])
        }
    }
}
