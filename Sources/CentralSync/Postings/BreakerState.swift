/// Where a target's circuit breaker stands: stored in `target_health.breaker` and shown by `status`.
///
/// Why an enum: `status` decides from it whether the central is unhealthy (exit 5); a string
/// compared with "closed" there would call a misspelt state an open breaker, or the reverse.
public enum BreakerState: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    /// Postings go through.
    case closed
    /// `postings.breaker.failures` consecutive failures: the target is left alone for `open_for`.
    case open
    /// `open_for` has passed: the next posting probes the target; a success closes the breaker.
    case halfOpen = "half-open"

    public var description: String { rawValue }
}
