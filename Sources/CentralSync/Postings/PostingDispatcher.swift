import Foundation
import Logging
import MillwrightCore
import ServiceLifecycle
import Synchronization

/// Delivers the postings outbox: due postings go to their target's connector; failures are retried
/// with capped exponential backoff and jitter, a target that keeps failing trips its breaker, and a
/// posting out of attempts becomes a dead letter for an operator to fix and replay.
public final class PostingDispatcher: Service {
    let store: any PostingsStore
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
    }

    public init(store: any PostingsStore, connectors: [String: any PostingConnector], policy: SyncConfiguration.Policy, logger: Logger) {
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

    /// New postings are waiting: deliver now rather than at the next poll.
    public func wake() { ring.yield() }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { [ring] in
                    // A poll for retries that fall due while nothing new arrives.
                    while !Task.isCancelled {
                        try? await Task.sleep(for: .milliseconds(250))
                        ring.yield()
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

    /// A write to the postings outbox: never swallowed. Counted in `storeErrors` and logged; the
    /// posting stays as it was (a `sent` one is looked up by its key on the next attempt).
    func persist(_ what: String, posting: Int64, _ body: () async throws -> Void) async {
        do { try await body() } catch {
            counters.withLock { $0.storeErrors += 1 }
            logger.error("cannot record \(what) in the postings outbox", metadata: ["posting": "\(posting)", "error": "\(error)"])
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
                await persist("the missing connector", posting: p.id) {
                    try await store.markFailed(p.id, error: "no connector for target \"\(p.target)\": check `targets:` in the config", retryAt: nil, now: now())
                }
                continue
            }
            guard breakers.withLock({ $0[p.target]?.allows(at: now()) ?? true }) else { continue }
            // Marked sent before the call: a crash during it makes the next attempt look the document up first.
            var marked = false
            await persist("the attempt", posting: p.id) { try await store.markSent(p.id, now: now()); marked = true }
            guard marked else { continue }
            let outcome = await connector.deliver(p)
            let t = now()
            switch outcome {
            case .delivered(let ref, let note), .found(let ref, let note):
                let existed = if case .found = outcome { true } else { false }
                await persist("the delivery", posting: p.id) { try await store.markAcked(p.id, documentRef: ref, note: note, now: t) }
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
                    await persist("the target's health", posting: p.id) {
                        try await store.recordTargetHealth(p.target, breaker: "closed", failures: 0, success: true, error: nil, now: t)
                    }
                }
                logger.info("posting delivered", metadata: ["posting": "\(p.id)", "kind": "\(p.kind)", "target": "\(p.target)", "document": "\(ref)", "note": "\(note)"])
            case .failed(let error):
                let attempts = p.attempts + 1
                let retryAt: Timestamp? = attempts >= policy.maxAttempts ? nil : t + backoff(attempts: attempts)
                await persist("the failure", posting: p.id) { try await store.markFailed(p.id, error: error, retryAt: retryAt, now: t) }
                let (state, failures) = breakers.withLock { b -> (CircuitBreaker.State, Int) in
                    b[p.target]?.failed(at: t)
                    return (b[p.target]?.state(at: t) ?? .closed, b[p.target]?.failures ?? 0)
                }
                counters.withLock { s in
                    s.failures += 1
                    if retryAt == nil { s.deadLettered += 1 }
                }
                healthySaved.withLock { $0[p.target] = nil }
                await persist("the target's health", posting: p.id) {
                    try await store.recordTargetHealth(p.target, breaker: state.rawValue, failures: failures, success: false, error: error, now: t)
                }
                if retryAt == nil {
                    logger.error("posting dead-lettered: fix it and replay with `millwright-central postings replay \(p.id)`",
                                 metadata: ["posting": "\(p.id)", "kind": "\(p.kind)", "target": "\(p.target)", "attempts": "\(attempts)", "error": "\(error)"])
                } else {
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
