import MillwrightCore

/// Each target's health as the dispatcher (and the planning snapshots) last recorded it: breaker,
/// consecutive failures, last success, last error.
///
/// Why its own protocol: `status` decides the central's health from it (exit 5 on a breaker not
/// closed), and every replica's dispatcher writes it.
public protocol TargetHealthStore: Sendable {
    func recordTargetHealth(_ target: String, breaker: BreakerState, failures: Int, success: Bool, error: String?, now: Timestamp) async throws
    func targetHealth() async throws -> [TargetHealth]
}

/// A target's health as the dispatcher last recorded it.
public struct TargetHealth: Sendable, Hashable {
    public var target: String
    public var breaker: BreakerState
    public var failures: Int
    public var lastSuccess: Timestamp?
    public var lastError: String?

    public init(target: String, breaker: BreakerState, failures: Int, lastSuccess: Timestamp?, lastError: String?) {
        self.target = target
        self.breaker = breaker
        self.failures = failures
        self.lastSuccess = lastSuccess
        self.lastError = lastError
    }
}
