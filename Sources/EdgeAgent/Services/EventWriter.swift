import Foundation
import Logging
import MillwrightCore
import ServiceLifecycle
import Synchronization

/// Receives pipeline output on the MQTT thread and commits it to the store in batches.
///
/// The hand-off is a lock and a doorbell: the hot path appends and rings; this service
/// drains everything that piled up into one transaction. Shut down last, so it commits
/// what the other services handed over while stopping.
public final class EventWriter: EventSink, Service {
    let store: EdgeStore
    let keepQuarantine: Int
    let logger: Logger
    let onCommitted: @Sendable ([EventEnvelope]) -> Void
    let pending = Mutex(PipelineOutput())
    let doorbell: AsyncStream<Void>
    let ring: AsyncStream<Void>.Continuation
    let counters = Mutex(Counters())

    public struct Counters: Sendable {
        public var eventsCommitted = 0
        public var batches = 0
        public var storeErrors = 0
        public var lastError: String?
    }

    public init(store: EdgeStore, keepQuarantine: Int, logger: Logger, onCommitted: @escaping @Sendable ([EventEnvelope]) -> Void = { _ in }) {
        self.store = store
        self.keepQuarantine = keepQuarantine
        self.logger = logger
        self.onCommitted = onCommitted
        (doorbell, ring) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    public func accept(_ output: PipelineOutput) {
        let wasEmpty = pending.withLock { p -> Bool in
            let wasEmpty = p.isEmpty
            p.events += output.events
            p.states += output.states
            p.quarantine += output.quarantine
            // Samples only: counts stay exact in the pipeline; keep memory bounded if the store lags.
            if p.quarantine.count > keepQuarantine { p.quarantine.removeFirst(p.quarantine.count - keepQuarantine) }
            return wasEmpty
        }
        // One wake-up per batch, not per event: the hot path must not pay a thread switch each time.
        if wasEmpty { ring.yield() }
    }

    public var stats: Counters { counters.withLock { $0 } }

    /// Events arriving within this window share one transaction (one fsync).
    static let groupCommitWindow = Duration.milliseconds(10)

    public func run() async throws {
        await withGracefulShutdownHandler {
            for await _ in doorbell {
                try? await Task.sleep(for: Self.groupCommitWindow)
                await flush()
            }
        } onGracefulShutdown: {
            self.ring.finish()
        }
        await flush()
    }

    /// Commits everything pending; on failure keeps it and retries, so nothing is lost.
    func flush() async {
        while true {
            let batch = pending.withLock { p -> PipelineOutput in
                defer { p = PipelineOutput() }
                return p
            }
            if batch.isEmpty { return }
            // The latest state per instance is enough; earlier snapshots in the batch are superseded.
            var compact = batch
            var seen = Set<String>()
            compact.states = batch.states.reversed().filter { seen.insert($0.key).inserted }.reversed()
            do {
                let committed = try store.commit(compact, keepQuarantine: keepQuarantine)
                counters.withLock {
                    $0.eventsCommitted += committed.count
                    $0.batches += 1
                }
                if !committed.isEmpty { onCommitted(committed) }
            } catch {
                counters.withLock {
                    $0.storeErrors += 1
                    $0.lastError = error.description
                }
                logger.error("edge store write failed; retrying", metadata: ["error": "\(error)", "pending_events": "\(batch.events.count)"])
                pending.withLock { p in
                    p.events = compact.events + p.events
                    p.states = compact.states + p.states
                    p.quarantine = compact.quarantine + p.quarantine
                }
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }
}
