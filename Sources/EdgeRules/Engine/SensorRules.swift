import MillwrightCore

/// The rules of one sensor instance (one equipment + signal), in a fixed order.
public struct SensorRules: Codable, Sendable, Hashable {
    public private(set) var rules: [AnyRule]

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

    /// Rules for new specs, keeping the state of every rule whose parameters did not change.
    public func reconfigured(to specs: [RuleSpec]) -> SensorRules {
        SensorRules(rules: specs.map { spec in
            rules.first { $0.spec == spec } ?? AnyRule(spec)
        })
    }
}
