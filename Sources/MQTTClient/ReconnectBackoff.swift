/// Capped exponential backoff with jitter, so a plant full of gateways does not
/// reconnect to a restarted broker in lockstep.
public struct ReconnectBackoff: Sendable {
    public struct Policy: Sendable, Hashable {
        /// First delay in seconds.
        public var initial: Double
        /// Upper bound in seconds.
        public var maximum: Double
        /// Fraction of the delay that is randomised: 0.5 gives a delay in [d/2, d].
        public var jitter: Double

        public init(initial: Double = 0.5, maximum: Double = 30, jitter: Double = 0.5) {
            self.initial = initial
            self.maximum = maximum
            self.jitter = jitter
        }
    }

    public let policy: Policy
    public private(set) var attempt = 0

    public init(policy: Policy) { self.policy = policy }

    /// The delay before the next attempt; `unit` is a random number in [0, 1).
    public mutating func nextDelay(unit: Double = Double.random(in: 0..<1)) -> Double {
        let exponent = min(attempt, 30)
        let base = min(policy.maximum, policy.initial * Double(1 << exponent))
        attempt += 1
        return base * (1 - policy.jitter * unit)
    }

    public mutating func reset() { attempt = 0 }
}
