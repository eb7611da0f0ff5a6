import MillwrightCore

public enum MachineState: String, Codable, Sendable, Hashable, CaseIterable {
    case running, idle, down
}

public struct StateTarget: Codable, Sendable, Hashable {
    public var state: MachineState
    public var reason: String?

    public init(_ state: MachineState, reason: String? = nil) {
        self.state = state
        self.reason = reason
    }
}

public struct StateParams: Codable, Sendable, Hashable {
    /// Machine state code or text -> running/idle/down with an optional reason.
    public var map: [String: StateTarget]
    /// What an unmapped code means; nil rejects it (counted as `unmapped_state`).
    public var unmapped: StateTarget?
    /// Down periods shorter than this produce no `downtime` event (state changes still do).
    public var minDowntime: Millis

    public init(map: [String: StateTarget], unmapped: StateTarget? = nil, minDowntime: Millis = .zero) {
        self.map = map
        self.unmapped = unmapped
        self.minDowntime = minDowntime
    }

    func target(for value: Value) -> StateTarget? {
        let key = value.description
        if let t = map[key] { return t }
        let lowered = key.lowercased()
        if let t = map.first(where: { $0.key.lowercased() == lowered })?.value { return t }
        return unmapped
    }
}

/// Machine state codes to running/idle/down with reasons; down periods become `downtime` events.
public struct StateRule: RuleEvaluator {
    public static let kind = RuleKind.state
    public let params: StateParams
    public private(set) var current: MachineState?
    /// The reason the current period started with (a down period keeps its first reason).
    var reason: String?
    /// The reason last reported, so a repeated code does not report the same reason change again.
    var reportedReason: String?
    var since: Timestamp?

    public init(params: StateParams) { self.params = params }

    public mutating func observe(_ sample: Sample, into events: inout [RuleEvent]) -> RuleRejection? {
        guard let target = params.target(for: sample.value) else {
            return RuleRejection(.unmappedState, "state code \"\(sample.value.description.prefix(40))\" is not in the map")
        }
        if let s = since, sample.time < s {
            return RuleRejection(.outOfOrder, "state reading at \(sample.time.rfc3339) is older than \(s.rfc3339)")
        }
        guard target.state != current || (target.state == .down && target.reason != reportedReason) else { return nil }
        let previous = current
        let t = sample.time
        var values: [String: Value] = [
            "state": .text(target.state.rawValue),
            "previous_state": .text(previous?.rawValue ?? "unknown"),
            "code": sample.value,
        ]
        if let r = target.reason { values["reason"] = .text(r) }
        if let s = since, previous != nil { values["previous_duration_s"] = seconds(t - s) }

        if previous == .down && target.state == .down {
            // Same down period, new reason: report it, keep the period's start and first reason.
            events.append(event(.stateChanged, at: t, sample.timeSource, values))
            reportedReason = target.reason
            return nil
        }
        events.append(event(.stateChanged, at: t, sample.timeSource, values))
        if previous == .down, let start = since, t - start >= params.minDowntime {
            var dt: [String: Value] = [
                "started_at": .text(start.rfc3339), "ended_at": .text(t.rfc3339),
                "duration_s": seconds(t - start), "next_state": .text(target.state.rawValue),
            ]
            if let r = reason { dt["reason"] = .text(r) }
            events.append(event(.downtime, at: t, sample.timeSource, dt))
        }
        current = target.state
        reason = target.reason
        reportedReason = target.reason
        since = t
        return nil
    }
}
