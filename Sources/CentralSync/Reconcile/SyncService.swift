import Foundation
import Logging
import MillwrightCore
import ServiceLifecycle
import Synchronization

/// Runs the reconcile pass on its cadence and wakes the dispatcher when postings were added.
public final class SyncService: Service {
    let pass: ReconcilePass
    let dispatcher: PostingDispatcher?
    let logger: Logger
    let lastOutcome = Mutex<ReconcilePass.Outcome?>(nil)
    /// Events left out because they could not be decoded, since start.
    public let undecodableTotal = Mutex(0)

    public init(pass: ReconcilePass, dispatcher: PostingDispatcher?, logger: Logger) {
        self.pass = pass
        self.dispatcher = dispatcher
        self.logger = logger
    }

    public var outcome: ReconcilePass.Outcome? { lastOutcome.withLock { $0 } }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            runOnce()
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(self.pass.config.reconcileEvery.value)) }
        }
    }

    public func runOnce(now: Timestamp = .now()) {
        do {
            let o = try pass.run(now: now)
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
            if !o.unresolvedOrders.isEmpty {
                logger.debug("MES names orders the ERP import has not seen (yet)", metadata: ["orders": "\(o.unresolvedOrders.sorted())"])
            }
        } catch {
            logger.error("reconcile pass failed; retrying next cycle", metadata: ["error": "\(error)"])
        }
    }
}
