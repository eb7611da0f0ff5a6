import MillwrightCore

/// One configured rule with its state, as a closed set so it stays a value type and Codable.
public enum AnyRule: Codable, Sendable, Hashable {
    case limit(LimitRule)
    case rate(RateRule)
    case deadband(DeadbandRule)
    case window(WindowRule)
    case stale(StaleRule)
    case counter(CounterRule)
    case state(StateRule)

    public var kind: RuleKind {
        switch self {
        case .limit: return .limit
        case .rate: return .rate
        case .deadband: return .deadband
        case .window: return .window
        case .stale: return .stale
        case .counter: return .counter
        case .state: return .state
        }
    }

    /// Fresh state for the given parameters.
    public init(_ spec: RuleSpec) {
        switch spec {
        case .limit(let p): self = .limit(LimitRule(params: p))
        case .rate(let p): self = .rate(RateRule(params: p))
        case .deadband(let p): self = .deadband(DeadbandRule(params: p))
        case .window(let p): self = .window(WindowRule(params: p))
        case .stale(let p): self = .stale(StaleRule(params: p))
        case .counter(let p): self = .counter(CounterRule(params: p))
        case .state(let p): self = .state(StateRule(params: p))
        }
    }

    /// The parameters alone: two rules with equal specs are the same configuration.
    public var spec: RuleSpec {
        switch self {
        case .limit(let r): return .limit(r.params)
        case .rate(let r): return .rate(r.params)
        case .deadband(let r): return .deadband(r.params)
        case .window(let r): return .window(r.params)
        case .stale(let r): return .stale(r.params)
        case .counter(let r): return .counter(r.params)
        case .state(let r): return .state(r.params)
        }
    }

    public mutating func observe(_ sample: Sample, into events: inout [RuleEvent]) -> RuleRejection? {
        switch self {
        case .limit(var r): defer { self = .limit(r) }; return r.observe(sample, into: &events)
        case .rate(var r): defer { self = .rate(r) }; return r.observe(sample, into: &events)
        case .deadband(var r): defer { self = .deadband(r) }; return r.observe(sample, into: &events)
        case .window(var r): defer { self = .window(r) }; return r.observe(sample, into: &events)
        case .stale(var r): defer { self = .stale(r) }; return r.observe(sample, into: &events)
        case .counter(var r): defer { self = .counter(r) }; return r.observe(sample, into: &events)
        case .state(var r): defer { self = .state(r) }; return r.observe(sample, into: &events)
        }
    }

    public mutating func tick(now: Timestamp, into events: inout [RuleEvent]) {
        switch self {
        case .limit(var r): r.tick(now: now, into: &events); self = .limit(r)
        case .rate(var r): r.tick(now: now, into: &events); self = .rate(r)
        case .deadband(var r): r.tick(now: now, into: &events); self = .deadband(r)
        case .window(var r): r.tick(now: now, into: &events); self = .window(r)
        case .stale(var r): r.tick(now: now, into: &events); self = .stale(r)
        case .counter(var r): r.tick(now: now, into: &events); self = .counter(r)
        case .state(var r): r.tick(now: now, into: &events); self = .state(r)
        }
    }

    /// Rules whose tick does nothing are skipped by the periodic tick.
    public var needsTick: Bool {
        switch self {
        case .window, .stale, .counter: return true
        case .limit(let r): return r.needsTick
        default: return false
        }
    }
}

/// The configured parameters of one rule.
public enum RuleSpec: Codable, Sendable, Hashable {
    case limit(LimitParams)
    case rate(RateParams)
    case deadband(DeadbandParams)
    case window(WindowParams)
    case stale(StaleParams)
    case counter(CounterParams)
    case state(StateParams)

    public var kind: RuleKind { AnyRule(self).kind }
}
