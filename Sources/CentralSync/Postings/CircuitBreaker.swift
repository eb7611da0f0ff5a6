import MillwrightCore

/// A circuit breaker per target: after `threshold` consecutive failures the target is left alone
/// for `openFor`, then one posting probes it (half-open); a success closes it again.
struct CircuitBreaker: Sendable {
    typealias State = BreakerState

    let threshold: Int
    let openFor: Millis
    private(set) var failures = 0
    private(set) var openedAt: Timestamp?

    init(threshold: Int, openFor: Millis) {
        self.threshold = threshold
        self.openFor = openFor
    }

    func state(at now: Timestamp) -> State {
        guard let openedAt else { return .closed }
        return now - openedAt >= openFor ? .halfOpen : .open
    }

    func allows(at now: Timestamp) -> Bool { state(at: now) != .open }

    mutating func succeeded() {
        failures = 0
        openedAt = nil
    }

    mutating func failed(at now: Timestamp) {
        failures += 1
        if failures >= threshold || openedAt != nil { openedAt = now }
    }
}
