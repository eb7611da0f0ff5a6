import EdgeAgent
import EdgeConfig
import Foundation
import MillwrightCore
import Synchronization

/// Promoted events shaped like the ones the edge's rules produce (the same types, rule
/// names, value keys and time fields), for a plant of 24 presses:
/// 10% limit_raised, 10% limit_cleared, 25% value_reported, 15% summary (window),
/// 20% count, 15% state_changed, 5% downtime. Event ids are random UUIDs, as live.
struct EventFactory {
    let site: String
    let edge: String
    var rng: SplitMix64
    /// Event time of the next event; advances a few milliseconds per event.
    var clock: Timestamp

    init(site: String, edge: String, seed: UInt64, start: Timestamp) {
        self.site = site
        self.edge = edge
        rng = SplitMix64(seed: seed)
        clock = start
    }

    mutating func make(_ n: Int) -> [EventEnvelope] {
        var out: [EventEnvelope] = []
        out.reserveCapacity(n)
        for _ in 0..<n { out.append(next()) }
        return out
    }

    /// A reading with two decimals, like the sensors send.
    private mutating func reading(_ range: ClosedRange<Double>) -> Double {
        (Double.random(in: range, using: &rng) * 100).rounded() / 100
    }

    mutating func next() -> EventEnvelope {
        clock = clock + Millis(Int64.random(in: 1...40, using: &rng))
        let at = clock
        let press = Int.random(in: 1...24, using: &rng)
        let equipment = press < 10 ? "press-0\(press)" : "press-\(press)"
        let received = at + Millis(Int64.random(in: 1...15, using: &rng))
        let pick = Int.random(in: 0..<100, using: &rng)
        let type: EventType
        let signal: String
        let rule: String
        var values: [String: Value]
        switch pick {
        case 0..<10:
            type = .limitRaised
            signal = "spindle_temp"
            rule = "temperature.limit"
            values = ["value": .number(reading(80...99)), "severity": "high", "previous_severity": "normal",
                      "threshold": 80, "peak": .number(reading(85...99))]
        case 10..<20:
            type = .limitCleared
            signal = "spindle_temp"
            rule = "temperature.limit"
            values = ["value": .number(reading(60...78)), "severity": "high",
                      "duration_s": .number(reading(1...600)), "peak": .number(reading(85...99))]
        case 20..<45:
            type = .valueReported
            signal = "hydraulic_pressure"
            rule = "pressure.deadband"
            values = ["value": .number(reading(150...210)), "reason": "deadband", "previous": .number(reading(150...210))]
        case 45..<60:
            type = .summary
            signal = "spindle_temp"
            rule = "temperature.window"
            let end = Timestamp(milliseconds: at.milliseconds / 60_000 * 60_000)
            values = ["window_start": .text((end - Millis.seconds(60)).rfc3339), "window_end": .text(end.rfc3339),
                      "min": .number(reading(55...60)), "max": .number(reading(60...75)), "mean": .number(reading(58...66))]
        case 60..<80:
            type = .count
            signal = "parts"
            rule = "parts.counter"
            values = ["delta": .number(Double(Int.random(in: 1...20, using: &rng))), "from": .text((at - Millis.seconds(10)).rfc3339),
                      "to": .text(at.rfc3339), "raw": .number(Double(Int.random(in: 10_000...900_000, using: &rng)))]
        case 80..<95:
            type = .stateChanged
            signal = "machine_state"
            rule = "machine_state.state"
            let states = ["running", "idle", "down"]
            let s = Int.random(in: 0..<3, using: &rng)
            values = ["state": .text(states[s]), "previous_state": .text(states[(s + 1) % 3]),
                      "code": .number(Double(s + 1)), "previous_duration_s": .number(reading(1...3600))]
            if s == 2 { values["reason"] = "material shortage" }
        default:
            type = .downtime
            signal = "machine_state"
            rule = "machine_state.state"
            let seconds = reading(30...1800)
            values = ["started_at": .text((at - Millis(Int64(seconds * 1000))).rfc3339), "ended_at": .text(at.rfc3339),
                      "duration_s": .number(seconds), "reason": "material shortage"]
        }
        return EventEnvelope(eventID: UUID().uuidString.lowercased(), site: site, edge: edge, equipment: equipment, signal: signal,
                             type: type, priority: type.defaultPriority, occurredAt: at, timeSource: .sensor,
                             edgeReceivedAt: received, values: values, rule: rule)
    }
}

/// `PipelineOutput` has no public initializer, so the drivers take an empty one from a real
/// pipeline (a message on an unknown topic yields an output holding only a quarantine
/// sample) and fill in the events. The store sees exactly what the EventWriter hands it.
enum PipelineOutputs {
    private final class Capture: EventSink {
        let output = Mutex<PipelineOutput?>(nil)
        func accept(_ o: PipelineOutput) { output.withLock { $0 = $0 ?? o } }
    }

    static let empty: PipelineOutput = {
        let yaml = """
            site: bench
            edge: bench-gw
            data_dir: /nonexistent
            brokers:
              plant: { port: 1883 }
            sensors:
              - name: state
                topic: "line/{equipment}/state"
                decode: { format: text }
                rules:
                  state: { map: { RUN: running, IDLE: idle } }
            """
        guard let config = try? EdgeConfiguration.parse(yaml: yaml) else { fatalError("the bench's pipeline config does not parse") }
        let sink = Capture()
        IngestPipeline(config: config, sink: sink).handle(broker: "plant", topic: "unknown", payload: [], receivedAt: .now())
        guard var o = sink.output.withLock({ $0 }) else { fatalError("the pipeline produced no output") }
        o.events = []
        o.states = []
        o.quarantine = []
        return o
    }()

    /// A pipeline output carrying only `events`, as the EventWriter commits a group.
    static func events(_ events: [EventEnvelope]) -> PipelineOutput {
        var o = empty
        o.events = events
        return o
    }
}
