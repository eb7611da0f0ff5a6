import EdgeConfig
import Foundation
import MillwrightCore
import Synchronization

/// Runs the rules over a recording so an engineer can tune thresholds offline.
///
/// Each line of the recording is a JSON object: {"topic": "...", "ts": 1764000000000 or
/// "2026-11-24T10:00:00Z", "payload": "raw text" or any JSON value, "broker": optional}.
/// The recording's timestamps are the clock (receive time and ticks), and event ids are
/// sequential, so the same recording and config always print the same events.
public struct ReplayRunner {
    public struct Result: Sendable {
        public var events: [EventEnvelope]
        public var stats: PipelineStats
        public var records: Int
        /// Lines that are not a usable record: (line number, reason).
        public var badLines: [(Int, String)]
    }

    public static func run(config: EdgeConfiguration, recording: String) throws -> Result {
        guard let data = FileManager.default.contents(atPath: recording) else {
            throw ReplayError("cannot read the recording \(recording)")
        }
        let collector = CollectingSink()
        let pipeline = IngestPipeline(config: config, sink: collector, idScheme: .sequential(prefix: "replay-"))
        let defaultBroker = config.brokers.first?.name ?? ""
        var records = 0
        var bad: [(Int, String)] = []
        var lastTime: Timestamp?
        var lineNumber = 0
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            guard let obj = try? JSONSerialization.jsonObject(with: Data(line), options: [.fragmentsAllowed]) as? [String: Any] else {
                bad.append((lineNumber, "not a JSON object"))
                continue
            }
            guard let topic = obj["topic"] as? String else { bad.append((lineNumber, "no \"topic\" text")); continue }
            guard let ts = timestamp(obj["ts"]) else {
                bad.append((lineNumber, "\"ts\" must be epoch milliseconds or RFC 3339 text"))
                continue
            }
            guard let payload = payloadBytes(obj["payload"]) else { bad.append((lineNumber, "no \"payload\"")); continue }
            if let last = lastTime, ts < last {
                bad.append((lineNumber, "ts goes backwards (\(ts.rfc3339) after \(last.rfc3339)); the line is replayed at its own time"))
            }
            pipeline.tick(now: ts)
            pipeline.handle(broker: obj["broker"] as? String ?? defaultBroker, topic: topic, payload: payload, receivedAt: ts)
            lastTime = max(lastTime ?? ts, ts)
            records += 1
        }
        if let lastTime { pipeline.tick(now: lastTime) }
        return Result(events: collector.events, stats: pipeline.stats, records: records, badLines: bad)
    }

    static func timestamp(_ v: Any?) -> Timestamp? {
        if let n = v as? NSNumber, !(v is Bool) { return Timestamp(milliseconds: n.int64Value) }
        if let s = v as? String { return Timestamp(rfc3339: s) ?? Int64(s).map { Timestamp(milliseconds: $0) } }
        return nil
    }

    static func payloadBytes(_ v: Any?) -> [UInt8]? {
        switch v {
        case nil, is NSNull: return nil
        case let s as String: return Array(s.utf8)
        case let other?:
            guard let d = try? JSONSerialization.data(withJSONObject: other, options: [.sortedKeys, .fragmentsAllowed]) else { return nil }
            return Array(d)
        }
    }
}

public struct ReplayError: Error, CustomStringConvertible {
    public let description: String
    init(_ d: String) { description = d }
}

/// Keeps pipeline output in memory: replay and tests.
public final class CollectingSink: EventSink {
    let output = Mutex(PipelineOutput())

    public init() {}

    public func accept(_ o: PipelineOutput) {
        output.withLock {
            $0.events += o.events
            $0.states += o.states
            $0.quarantine += o.quarantine
        }
    }

    public var events: [EventEnvelope] { output.withLock { $0.events } }
    public var states: [RuleStateRecord] { output.withLock { $0.states } }
    public var quarantine: [QuarantineEntry] { output.withLock { $0.quarantine } }
}
