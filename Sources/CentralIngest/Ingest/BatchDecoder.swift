import Foundation
import MillwrightCore

/// One event as the central stores it.
public struct StoredEvent: Sendable, Hashable {
    public var edge: String
    public var site: String
    public var eventID: String
    public var equipment: String
    public var signal: String
    public var type: EventType
    public var priority: PriorityClass
    public var bootEpoch: Int64
    public var seq: Int64
    public var occurredAt: Timestamp
    public var edgeReceivedAt: Timestamp
    public var isHistorical: Bool
    public var body: String
    /// For a gap record: how many events the edge says it dropped.
    public var droppedCount: Int
}

/// A batch that passed validation, every event of it.
public struct ValidBatch: Sendable {
    public var batch: String
    public var site: String
    public var edge: String
    public var events: [StoredEvent]
}

/// A batch refused as a whole (never half-applied), kept raw for operators.
public struct RejectedBatch: Error, Sendable {
    public var topic: String
    public var reason: String
    public var payload: [UInt8]
    /// Set when the batch was readable enough to tell the edge what was refused.
    public var site: String?
    public var edge: String?
    public var batch: String?
    public var ranges: [SeqRange]
}

/// Decodes and validates one uplink batch (protocol v1).
enum BatchDecoder {
    static let headerPaths = ["v", "batch", "site", "edge"].map { JSONPath(parsing: $0)! }
    /// The fields the central validates and indexes; `values` stays verbatim in the stored body,
    /// only a gap record's count is read from it.
    static let eventPaths = ["schema_version", "event_id", "site", "edge", "boot_epoch", "seq", "equipment", "signal",
                             "type", "priority", "occurred_at", "edge_received_at", "is_historical", "values.count"]
        .map { JSONPath(parsing: $0)! }

    /// Just enough to tell the edge which ranges were refused.
    struct Skeleton: Decodable {
        struct Seq: Decodable { var seq: Int64? }
        var batch: String?
        var events: [Seq]?
    }

    static func decode(topic: String, payload: [UInt8], maxBytes: Int) -> Result<ValidBatch, RejectedBatch> {
        guard let (site, edge) = UplinkTopics.parse(topic, kind: "events") else {
            return .failure(RejectedBatch(topic: topic, reason: "not an events topic", payload: payload, ranges: []))
        }
        func reject(_ reason: String) -> Result<ValidBatch, RejectedBatch> {
            let skeleton = try? JSONDecoder().decode(Skeleton.self, from: Data(payload))
            return .failure(RejectedBatch(topic: topic, reason: reason, payload: payload, site: site, edge: edge,
                                          batch: skeleton?.batch, ranges: SeqRange.covering(skeleton?.events?.compactMap(\.seq) ?? [])))
        }
        guard payload.count <= maxBytes else { return reject("batch of \(payload.count) bytes exceeds max_batch_bytes \(maxBytes)") }
        // One validating pass over the whole batch (JSONDecoder cost most of the central's CPU).
        let header: [JSONScalar?]
        do {
            header = try payload.withUnsafeBytes { try JSONPathScanner.scan($0, paths: headerPaths) }
        } catch {
            return reject("unreadable batch: not valid JSON (\(error))")
        }
        guard case .number(let v)? = header[0] else { return reject("unreadable batch: no protocol version \"v\"") }
        guard v == 1 else { return reject("protocol version \(Value.number(v)) is not supported (this central speaks 1)") }
        guard case .string(let batchID)? = header[1], case .string(let bSite)? = header[2], case .string(let bEdge)? = header[3] else {
            return reject("unreadable batch: batch, site and edge must be text")
        }
        guard bSite == site, bEdge == edge else {
            return reject("batch says \(bSite)/\(bEdge) but arrived on the topic of \(site)/\(edge)")
        }
        // Each event is stored exactly as the edge committed it: its bytes in the batch.
        guard let spans = RawJSONSpans.arrayElements(of: "events", in: payload) else {
            return reject("unreadable batch: no \"events\" list")
        }
        var events: [StoredEvent] = []
        events.reserveCapacity(spans.count)
        for (i, span) in spans.enumerated() {
            let f: [JSONScalar?]
            do {
                f = try payload.withUnsafeBytes { try JSONPathScanner.scan(UnsafeRawBufferPointer(rebasing: $0[span]), paths: eventPaths) }
            } catch {
                return reject("event \(i) is not valid JSON")
            }
            switch parse(f, site: site, edge: edge, body: String(decoding: payload[span], as: UTF8.self)) {
            case .success(let e): events.append(e)
            case .failure(let why): return reject("event \(i): \(why.description)")
            }
        }
        return .success(ValidBatch(batch: batchID, site: site, edge: edge, events: events))
    }

    struct Invalid: Error, CustomStringConvertible {
        let description: String
        init(_ d: String) { description = d }
    }

    /// One event's fields, checked; `f` follows `eventPaths`.
    static func parse(_ f: [JSONScalar?], site: String, edge: String, body: String) -> Result<StoredEvent, Invalid> {
        func text(_ i: Int) -> String? { if case .string(let s)? = f[i] { return s } else { return nil } }
        func integer(_ i: Int) -> Int64? {
            if case .number(let d)? = f[i], d.rounded() == d, abs(d) < 9e15 { return Int64(d) } else { return nil }
        }
        func time(_ i: Int) -> Timestamp? {
            switch f[i] {
            case .string(let s)?: return Timestamp(rfc3339: s)
            case .number(let d)? where d.rounded() == d: return Timestamp(milliseconds: Int64(d))
            default: return nil
            }
        }
        guard integer(0) == Int64(EventEnvelope.currentSchemaVersion) else {
            return .failure(Invalid("schema_version \(f[0].map { "\($0)" } ?? "missing") is not supported"))
        }
        guard let eventID = text(1), !eventID.isEmpty else { return .failure(Invalid("no event_id")) }
        guard text(2) == site, text(3) == edge else { return .failure(Invalid("belongs to \(text(2) ?? "?")/\(text(3) ?? "?")")) }
        guard let epoch = integer(4), let seq = integer(5), seq > 0 else { return .failure(Invalid("has no boot_epoch/seq")) }
        guard let equipment = text(6), let signal = text(7) else { return .failure(Invalid("equipment and signal must be text")) }
        guard let type = text(8).flatMap(EventType.init(rawValue:)) else { return .failure(Invalid("unknown type \(text(8) ?? "missing")")) }
        guard let priority = text(9).flatMap(PriorityClass.init(rawValue:)) else { return .failure(Invalid("unknown priority")) }
        guard let occurredAt = time(10), let receivedAt = time(11) else { return .failure(Invalid("occurred_at and edge_received_at must be times")) }
        guard case .bool(let historical)? = f[12] else { return .failure(Invalid("is_historical must be true or false")) }
        var dropped = 0
        if type == .gap, case .number(let n)? = f[13] { dropped = Int(n) }
        return .success(StoredEvent(edge: edge, site: site, eventID: eventID, equipment: equipment, signal: signal, type: type,
                                    priority: priority, bootEpoch: epoch, seq: seq, occurredAt: occurredAt, edgeReceivedAt: receivedAt,
                                    isHistorical: historical, body: body, droppedCount: dropped))
    }
}
