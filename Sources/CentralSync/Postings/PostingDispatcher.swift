import Foundation
import Logging
import MillwrightCore
import ServiceLifecycle
import Synchronization

/// Delivers the postings outbox: due postings go to their target's connector; failures are retried
/// with capped exponential backoff and jitter, a target that keeps failing trips its breaker, and a
/// posting out of attempts becomes a dead letter for an operator to fix and replay.
public final class PostingDispatcher: Service {
    let store: any PostingOutbox & TargetHealthStore & PostingArrivals
    let connectors: [String: any PostingConnector]
    let policy: SyncConfiguration.Policy
    let logger: Logger
    let breakers: Mutex<[String: CircuitBreaker]>
    let doorbell: AsyncStream<Void>
    let ring: AsyncStream<Void>.Continuation
    let counters = Mutex(Stats())
    /// Per target, when a healthy state (breaker closed, no failures) was last written: a run of
    /// successes writes it at most once per `healthWriteInterval`, not once per posting.
    let healthySaved = Mutex<[String: Timestamp]>([:])
    static let healthWriteInterval = Millis(1000)

    public struct Stats: Sendable, Hashable {
        public var delivered = 0
        public var foundExisting = 0
        public var failures = 0
        public var deadLettered = 0
        /// Writes to the postings outbox that failed (logged each time; the posting is retried).
        public var storeErrors = 0
        /// Writes refused because the posting was no longer this replica's to write (its claim was
        /// taken over after a pause past `store.claim_ttl`, or it left delivery meanwhile): logged
        /// each time; what the other replica recorded stands.
        public var staleWrites = 0
    }

    public init(store: any PostingOutbox & TargetHealthStore & PostingArrivals, connectors: [String: any PostingConnector], policy: SyncConfiguration.Policy, logger: Logger) {
        self.store = store
        self.connectors = connectors
        self.policy = policy
        self.logger = logger
        breakers = Mutex(connectors.keys.reduce(into: [:]) {
            $0[$1] = CircuitBreaker(threshold: policy.breakerFailures, openFor: policy.breakerOpenFor)
        })
        (doorbell, ring) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    public var stats: Stats { counters.withLock { $0 } }

    /// How often the outbox is looked at without a word: half the first retry's backoff, between
    /// 50 ms and 1 s (a retry is late by at most that much).
    var pollInterval: Duration {
        Millis(min(1000, max(50, policy.initialBackoff.value / 2))).duration
    }

    /// New postings are waiting: deliver now rather than at the next poll.
    public func wake() { ring.yield() }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { [ring, poll = pollInterval] in
                    // A poll for retries that fall due while nothing new arrives (and for postings
                    // another process made due, on a store that cannot say so).
                    while !Task.isCancelled {
                        try? await Task.sleep(for: poll)
                        ring.yield()
                    }
                }
                group.addTask { [store, ring, logger] in
                    // Postings another replica's pass added, or an operator replayed: at once.
                    while !Task.isCancelled {
                        do {
                            try await store.watchArrivals { ring.yield() }
                            return
                        } catch {
                            if Task.isCancelled { return }
                            logger.warning("lost word of new postings from the store; polling until it is back",
                                           metadata: ["error": "\(error)"])
                            try? await Task.sleep(for: .seconds(5))
                        }
                    }
                }
                for await _ in doorbell {
                    await deliverDue()
                }
                group.cancelAll()
            }
        } onGracefulShutdown: {
            self.ring.finish()
        }
        // A clean stop hands what this replica claimed and did not start to the others at once.
        do {
            let released = try await store.releaseClaims()
            if released > 0 {
                logger.notice("released posting claims at stop; another replica delivers them", metadata: ["postings": "\(released)"])
            }
        } catch {
            counters.withLock { $0.storeErrors += 1 }
            logger.warning("could not release posting claims at stop; they pass on after store.claim_ttl", metadata: ["error": "\(error)"])
        }
    }

    /// Records a transition of a posting this replica holds, under its claim: never swallowed. A
    /// refusal by the state machine or the claim (another replica took the posting over) counts in
    /// `staleWrites`, any other failure in `storeErrors`; both are logged, and the posting stays as
    /// the store has it (a `sent` one is looked up by its key on the next attempt). True if recorded.
    @discardableResult
    func record(_ transition: PostingTransition, of p: Posting, at t: Timestamp) async -> Bool {
        do {
            try await store.record(transition, posting: p.id, claim: p.claim, now: t)
            return true
        } catch let refusal as PostingRefusal {
            counters.withLock { $0.staleWrites += 1 }
            logger.warning("posting write refused: what the store has stands", metadata: [
                "posting": "\(p.id)", "transition": "\(transition.name)", "reason": "\(refusal)"])
        } catch {
            counters.withLock { $0.storeErrors += 1 }
            logger.error("cannot record the \(transition.name) in the postings outbox", metadata: ["posting": "\(p.id)", "error": "\(error)"])
        }
        return false
    }

    /// A write of the target's health: logged and counted in `storeErrors` when it fails.
    func persistHealth(of p: Posting, _ body: () async throws -> Void) async {
        do { try await body() } catch {
            counters.withLock { $0.storeErrors += 1 }
            logger.error("cannot record the target's health", metadata: ["posting": "\(p.id)", "target": "\(p.target)", "error": "\(error)"])
        }
    }

    /// One round: every due posting whose target's breaker lets it through, in order.
    public func deliverDue(now: @Sendable () -> Timestamp = { .now() }) async {
        let due: [Posting]
        do { due = try await store.duePostings(now: now(), limit: 200) } catch {
            logger.error("cannot read the postings outbox", metadata: ["error": "\(error)"])
            return
        }
        for p in due {
            // A clean stop finishes the posting in hand, not the whole claimed round.
            if Task.isShuttingDownGracefully { break }
            guard let connector = connectors[p.target] else {
                await record(.deadLetter(error: "no connector for target \"\(p.target)\": check `targets:` in the config"), of: p, at: now())
                continue
            }
            guard breakers.withLock({ $0[p.target]?.allows(at: now()) ?? true }) else { continue }
            // Marked sent before the call: a crash during it makes the next attempt look the document up first.
            guard await record(.attempt, of: p, at: now()) else { continue }
            let outcome = await connector.deliver(p)
            let t = now()
            switch outcome {
            case .delivered(let ref, let note), .found(let ref, let note):
                let existed = if case .found = outcome { true } else { false }
                await record(.acknowledge(documentRef: ref, note: note), of: p, at: t)
                breakers.withLock { $0[p.target]?.succeeded() }
                counters.withLock { s in
                    s.delivered += 1
                    if existed { s.foundExisting += 1 }
                }
                // One transaction of three per posting saved on a healthy target; a change of state
                // (the first success after failures) is always written.
                let due = healthySaved.withLock { saved -> Bool in
                    if let last = saved[p.target], t - last < Self.healthWriteInterval, t >= last { return false }
                    saved[p.target] = t
                    return true
                }
                if due {
                    await persistHealth(of: p) {
                        try await store.recordTargetHealth(p.target, breaker: .closed, failures: 0, success: true, error: nil, now: t)
                    }
                }
                logger.info("posting delivered", metadata: ["posting": "\(p.id)", "kind": "\(p.kind)", "target": "\(p.target)", "document": "\(ref)", "note": "\(note)"])
            case .failed(let error):
                let attempts = p.attempts + 1
                let retryAt: Timestamp? = attempts >= policy.maxAttempts ? nil : t + backoff(attempts: attempts)
                let recorded = await record(retryAt.map { .retry(error: error, at: $0) } ?? .deadLetter(error: error), of: p, at: t)
                let (state, failures) = breakers.withLock { b -> (CircuitBreaker.State, Int) in
                    b[p.target]?.failed(at: t)
                    return (b[p.target]?.state(at: t) ?? .closed, b[p.target]?.failures ?? 0)
                }
                counters.withLock { s in
                    s.failures += 1
                    if retryAt == nil && recorded { s.deadLettered += 1 }
                }
                healthySaved.withLock { $0[p.target] = nil }
                await persistHealth(of: p) {
                    try await store.recordTargetHealth(p.target, breaker: state, failures: failures, success: false, error: error, now: t)
                }
                // A refused record was logged by `record`: another replica has the posting now.
                if recorded, retryAt == nil {
                    logger.error("posting dead-lettered: fix it and replay with `millwright-central postings replay \(p.id)`",
                                 metadata: ["posting": "\(p.id)", "kind": "\(p.kind)", "target": "\(p.target)", "attempts": "\(attempts)", "error": "\(error)"])
                } else if recorded {
                    logger.warning("posting failed, will retry", metadata: ["posting": "\(p.id)", "target": "\(p.target)", "attempt": "\(attempts)",
                                                                          "breaker": "\(state.rawValue)", "error": "\(error)"])
                }
            }
        }
    }

    /// Capped exponential backoff with jitter (half to full of the step), so many failing
    /// postings do not hammer a recovering target in step.
    func backoff(attempts: Int) -> Millis {
        let step = min(Double(policy.maximumBackoff.value), Double(policy.initialBackoff.value) * pow(2, Double(max(0, attempts - 1))))
        return Millis(Int64(step * Double.random(in: 0.5...1.0)))
    }
}
