import MillwrightCore

/// The rules of one sensor instance (one equipment + signal), in a fixed order.
public struct SensorRules: Codable, Sendable, Hashable {
    public private(set) var rules: [AnyRule]
    /// The sensor time of the latest reading these rules processed. Saved with the rule state in
    /// the transaction that commits the reading's effects, so a reading redelivered after a crash
    /// (its acknowledgement never reached the broker) is recognised: see `isAlreadySeen`.
    public var lastSensorTime: Timestamp?

    public init(specs: [RuleSpec]) {
        rules = specs.map(AnyRule.init)
    }

    public init(rules: [AnyRule]) {
        self.rules = rules
    }

    /// Runs every rule on the sample. A sample rejected by a rule is still seen by the others.
    public mutating func observe(_ sample: Sample, into events: inout [RuleEvent]) -> RuleRejection? {
        var firstRejection: RuleRejection?
        for i in rules.indices {
            if let r = rules[i].observe(sample, into: &events), firstRejection == nil { firstRejection = r }
        }
        return firstRejection
    }

    public mutating func tick(now: Timestamp, into events: inout [RuleEvent]) {
        for i in rules.indices where rules[i].needsTick {
            rules[i].tick(now: now, into: &events)
        }
    }

    public var needsTick: Bool { rules.contains { $0.needsTick } }

    /// Whether a reading with this sensor time was already processed (or is older than one that
    /// was): sensor time must increase per instance.
    public func isAlreadySeen(sensorTime: Timestamp) -> Bool {
        guard let last = lastSensorTime else { return false }
        return sensorTime <= last
    }

    /// Rules for new specs, keeping the state of every rule whose parameters did not change.
    public func reconfigured(to specs: [RuleSpec]) -> SensorRules {
        var out = SensorRules(rules: specs.map { spec in
            rules.first { $0.spec == spec } ?? AnyRule(spec)
        })
        out.lastSensorTime = lastSensorTime
        return out
    }
}
