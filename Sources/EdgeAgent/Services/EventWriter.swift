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
///
/// Every hand-off is numbered; a ticket names the hand-offs made so far, and is durable once a
/// transaction holding all of them committed. The ingest clients acknowledge readings to the
/// plant broker only then (see `IngestCommitGate`).
public final class EventWriter: EventSink, Service {
    let store: EdgeStore
    let keepQuarantine: Int
    let logger: Logger
    let onCommitted: @Sendable ([EventEnvelope]) -> Void
    let pending = Mutex(Intake())
    /// The highest hand-off number a committed transaction covered.
    let durableThrough = Atomic<UInt64>(0)

    struct Intake {
        var output = PipelineOutput()
        /// Hand-offs so far.
        var handed: UInt64 = 0
        /// Tickets waiting for a commit, with how to wake whoever waits.
        var waiters: [(ticket: UInt64, wake: @Sendable () -> Void)] = []
        /// Ingest loops that stopped reading because the writer lagged, woken after its next commit.
        var laggingReaders: [@Sendable () -> Void] = []
    }
    let doorbell: AsyncStream<Void>
    let ring: AsyncStream<Void>.Continuation
    /// Rung when an ingest client waits for a ticket: ends the group-commit window early.
    let waiterArrived = WakeSignal()
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
        let wasEmpty = pending.withLock { intake -> Bool in
            intake.handed += 1
            let wasEmpty = intake.output.isEmpty
            intake.output.events += output.events
            intake.output.states += output.states
            intake.output.quarantine += output.quarantine
            // Samples only: counts stay exact in the pipeline; keep memory bounded if the store lags.
            if intake.output.quarantine.count > keepQuarantine {
                intake.output.quarantine.removeFirst(intake.output.quarantine.count - keepQuarantine)
            }
            return wasEmpty
        }
        // One wake-up per batch, not per event: the hot path must not pay a thread switch each time.
        if wasEmpty { ring.yield() }
    }

    /// A ticket for everything handed over so far; `wake` runs after the commit that covers it.
    public func ticket(wake: @escaping @Sendable () -> Void) -> UInt64 {
        let (t, waiting) = pending.withLock { intake -> (UInt64, Bool) in
            let t = intake.handed
            guard durableThrough.load(ordering: .acquiring) < t else { return (t, false) }
            intake.waiters.append((t, wake))
            return (t, true)
        }
        // Someone waits: commit now rather than after the group-commit window.
        if waiting {
            ring.yield()
            waiterArrived.signal()
        }
        return t
    }

    public func isDurable(_ ticket: UInt64) -> Bool { durableThrough.load(ordering: .acquiring) >= ticket }

    /// Events waiting for a commit beyond which ingest stops reading (the plant broker holds QoS 1
    /// readings; QoS 0 ones are the broker's to drop): memory stays bounded while the disk is full.
    public static let maxPendingEvents = 50_000

    /// Whether the writer takes more: false while `maxPendingEvents` or more wait for a commit.
    public var keepsUp: Bool { pending.withLock { $0.output.events.count < Self.maxPendingEvents } }

    /// Calls `wake` after the next commit (at once if the writer keeps up now): an ingest loop
    /// that stopped reading sleeps until then instead of looking again every few milliseconds.
    public func wakeWhenKeepingUp(_ wake: @escaping @Sendable () -> Void) {
        let now = pending.withLock { intake -> Bool in
            if intake.output.events.count < Self.maxPendingEvents { return true }
            intake.laggingReaders.append(wake)
            // One per ingest client is enough; a loop registers again each time it looks (once a
            // second at least), so a writer failing for hours must not collect them without bound.
            if intake.laggingReaders.count > 64 { intake.laggingReaders.removeFirst(intake.laggingReaders.count - 64) }
            return false
        }
        if now { wake() }
    }

    public var stats: Counters { counters.withLock { $0 } }

    let running = Mutex<(started: Bool, waiting: [CheckedContinuation<Void, Never>])>((false, []))

    /// Returns once `run()` has started (or at once if it has).
    public func waitUntilRunning() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = running.withLock { r -> Bool in
                if r.started { return true }
                r.waiting.append(c)
                return false
            }
            if now { c.resume() }
        }
    }

    /// Events arriving within this window share one transaction (one fsync).
    static let groupCommitWindow = Duration.milliseconds(10)

    public func run() async throws {
        let waiting = running.withLock { r -> [CheckedContinuation<Void, Never>] in
            r.started = true
            defer { r.waiting = [] }
            return r.waiting
        }
        for c in waiting { c.resume() }
        await withGracefulShutdownHandler {
            for await _ in doorbell {
                // Batch up what arrives in the window, but commit at once when an ingest client
                // waits to acknowledge (its ticket may come after the hand-off that rang).
                if pending.withLock({ $0.waiters.isEmpty }) {
                    await waiterArrived.wait(timeout: Self.groupCommitWindow)
                }
                await flush()
            }
        } onGracefulShutdown: {
            self.ring.finish()
        }
        await flush()
    }

    /// Commits everything pending; on failure keeps it and retries every second, so nothing is
    /// lost. Cancelled, it stops retrying (a cancelled sleep returns at once: retrying on would
    /// spin on a failing disk): what is still pending was never acknowledged to its broker, which
    /// sends it again to the next run.
    func flush() async {
        while true {
            switch await onWriterQueue({ self.commitPending() }) {
            case .nothingPending: return
            case .committed: continue
            case .failed:
                do {
                    try await Task.sleep(for: .seconds(1))
                } catch {
                    logger.warning("cancelled while the outbox refuses writes: the uncommitted events were not acknowledged; their brokers send them again")
                    return
                }
            }
        }
    }

    enum CommitOutcome: Sendable { case nothingPending, committed, failed }

    /// SQLite blocks: commits run on the writer's own queue, never on the cooperative thread pool.
    let queue = BlockingQueue(label: "millwright.edge-writer")

    func onWriterQueue(_ body: @escaping @Sendable () -> CommitOutcome) async -> CommitOutcome {
        await queue.perform(body)
    }

    /// One transaction holding everything handed over so far (on the writer queue).
    func commitPending() -> CommitOutcome {
        let (batch, through) = pending.withLock { intake -> (PipelineOutput, UInt64) in
            defer { intake.output = PipelineOutput() }
            return (intake.output, intake.handed)
        }
        if batch.isEmpty {
            markDurable(through: through)
            return .nothingPending
        }
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
            markDurable(through: through)
            if !committed.isEmpty { onCommitted(committed) }
            return .committed
        } catch {
            counters.withLock {
                $0.storeErrors += 1
                $0.lastError = error.description
            }
            logger.error("edge store write failed; retrying", metadata: ["error": "\(error)", "pending_events": "\(batch.events.count)"])
            pending.withLock { intake in
                intake.output.events = compact.events + intake.output.events
                intake.output.states = compact.states + intake.output.states
                intake.output.quarantine = compact.quarantine + intake.output.quarantine
            }
            return .failed
        }
    }

    /// Records that hand-offs up to `through` are committed and wakes the tickets it covers, and
    /// the ingest loops that waited for the writer to catch up (they look again, and wait again if
    /// it still lags).
    func markDurable(through: UInt64) {
        let woken = pending.withLock { intake -> [@Sendable () -> Void] in
            if durableThrough.load(ordering: .relaxed) < through { durableThrough.store(through, ordering: .releasing) }
            let done = intake.waiters.filter { $0.ticket <= through }.map(\.wake)
            intake.waiters.removeAll { $0.ticket <= through }
            defer { intake.laggingReaders = [] }
            return done + intake.laggingReaders
        }
        for wake in woken { wake() }
    }
}
