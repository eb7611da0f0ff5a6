import ConfigSupport
import EdgeRules
import MillwrightCore

/// Turns merged rule fields into typed `RuleSpec`s, logging every problem with its location.
enum RuleParser {
    static let allowedKeys: [RuleKind: [String]] = [
        .limit: ["high", "high_high", "low", "low_low", "hysteresis", "on_delay", "off_delay"],
        .rate: ["limit", "window"],
        .deadband: ["absolute", "percent", "heartbeat"],
        .window: ["every", "aggregates", "grace"],
        .stale: ["after"],
        .counter: ["bits", "every", "quantity", "max_delta", "pause"],
        .state: ["map", "unmapped", "min_downtime"],
    ]

    /// `fields` are the rule's keys after template and override merging; `anchor` is where
    /// a missing key is reported.
    static func parse(_ kind: RuleKind, _ fields: [String: ConfigNode], anchor: ConfigNode) -> RuleSpec? {
        let allowed = allowedKeys[kind] ?? []
        for (key, node) in fields where !allowed.contains(key) {
            node.log.add(node.mark, node.path, "unknown \(kind.rawValue) setting \"\(key)\"\(Suggest.hint(key, allowed)); allowed: \(allowed.joined(separator: ", "))")
        }
        func missing(_ key: String) -> Bool {
            guard fields[key] == nil else { return false }
            anchor.issue("the \(kind.rawValue) rule needs \"\(key)\"")
            return true
        }
        switch kind {
        case .limit:
            var p = LimitParams()
            p.high = fields["high"]?.double()
            p.highHigh = fields["high_high"]?.double()
            p.low = fields["low"]?.double()
            p.lowLow = fields["low_low"]?.double()
            p.hysteresis = fields["hysteresis"]?.double(min: 0) ?? 0
            p.onDelay = fields["on_delay"]?.duration() ?? .zero
            p.offDelay = fields["off_delay"]?.duration() ?? .zero
            guard p.high != nil || p.highHigh != nil || p.low != nil || p.lowLow != nil else {
                if fields["high"] == nil && fields["high_high"] == nil && fields["low"] == nil && fields["low_low"] == nil {
                    anchor.issue("the limit rule needs at least one of high, high_high, low, low_low")
                }
                return nil
            }
            if let h = p.high, let hh = p.highHigh, hh <= h { fields["high_high"]?.issue("must be above high (\(Value.number(h)))") }
            if let l = p.low, let ll = p.lowLow, ll >= l { fields["low_low"]?.issue("must be below low (\(Value.number(l)))") }
            let top = p.high ?? p.highHigh, bottom = p.low ?? p.lowLow
            if let t = top, let b = bottom, b >= t { (fields["low"] ?? fields["low_low"])?.issue("must be below the high limit (\(Value.number(t)))") }
            if let t = top, let b = bottom, p.hysteresis * 2 >= t - b {
                fields["hysteresis"]?.issue("must be less than half the gap between low and high limits (\(Value.number((t - b) / 2)))")
            }
            return .limit(p)
        case .rate:
            // Check every key before giving up, so one pass reports all of them.
            _ = ["limit", "window"].map(missing)
            let limit = fields["limit"]?.double(min: 0, exclusiveMin: true)
            let window = fields["window"]?.duration(positive: true)
            guard let limit, let window else { return nil }
            return .rate(RateParams(limit: limit, window: window))
        case .deadband:
            let p = DeadbandParams(
                absolute: fields["absolute"]?.double(min: 0),
                percent: fields["percent"]?.double(min: 0),
                heartbeat: fields["heartbeat"]?.duration(positive: true))
            if fields["absolute"] == nil && fields["percent"] == nil && fields["heartbeat"] == nil {
                anchor.issue("the deadband rule needs absolute, percent or heartbeat")
                return nil
            }
            return .deadband(p)
        case .window:
            _ = missing("every")
            let every = fields["every"]?.duration(positive: true)
            var aggregates = Aggregate.allCases
            if let list = fields["aggregates"]?.items() {
                aggregates = list.compactMap { n in n.oneOf(Aggregate.allCases.map(\.rawValue)).flatMap(Aggregate.init(rawValue:)) }
                if aggregates.isEmpty { fields["aggregates"]?.issue("list at least one of min, max, mean, count, last") }
            }
            let grace = fields["grace"]?.duration() ?? .seconds(2)
            guard let every else { return nil }
            return .window(WindowParams(every: every, aggregates: aggregates, grace: grace))
        case .stale:
            if missing("after") { return nil }
            guard let after = fields["after"]?.duration(positive: true) else { return nil }
            return .stale(StaleParams(after: after))
        case .counter:
            var p = CounterParams()
            var bitsValid = true
            if let b = fields["bits"] {
                if let bits = b.oneOf(["16", "32", "64"]).flatMap(Int.init) { p.bits = bits } else { bitsValid = false }
            }
            if let e = fields["every"] { p.every = e.duration(positive: true) ?? p.every }
            p.quantity = fields["quantity"]?.double(min: 0, exclusiveMin: true)
            p.maxDelta = fields["max_delta"]?.double(min: 0, exclusiveMin: true)
            // Left out: nil, the default (5 s), so state saved by an edge that had no `pause` carries on.
            if let node = fields["pause"] { p.pause = node.duration() }
            return bitsValid ? .counter(p) : nil
        case .state:
            _ = missing("map")
            var map: [String: StateTarget]?
            if let m = fields["map"] {
                if let entries = m.entries(), !entries.isEmpty {
                    var out: [String: StateTarget] = [:]
                    for (code, node) in entries {
                        if let t = stateTarget(node) { out[code] = t }
                    }
                    map = out
                } else {
                    m.issue("map at least one state code to running, idle or down")
                }
            }
            let unmapped = fields["unmapped"].flatMap(stateTarget)
            let minDowntime = fields["min_downtime"]?.duration() ?? .zero
            guard let map else { return nil }
            return .state(StateParams(map: map, unmapped: unmapped, minDowntime: minDowntime))
        }
    }

    /// "running" or { state: down, reason: "no material" }.
    static func stateTarget(_ node: ConfigNode) -> StateTarget? {
        let states = MachineState.allCases.map(\.rawValue)
        if node.scalarText != nil {
            return node.oneOf(states).flatMap(MachineState.init(rawValue:)).map { StateTarget($0) }
        }
        guard let f = node.fields(allowed: ["state", "reason"], required: ["state"]),
              let s = f["state"]?.oneOf(states).flatMap(MachineState.init(rawValue:)) else { return nil }
        return StateTarget(s, reason: f["reason"]?.string())
    }
}
