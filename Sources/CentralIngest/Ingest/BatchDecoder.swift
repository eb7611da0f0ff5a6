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
    struct Wire: Decodable {
        var v: Int
        var batch: String
        var site: String
        var edge: String
        var events: [Incoming]
    }

    /// The fields the central validates and indexes. `values` is kept verbatim in the stored
    /// body, so only a gap record's count is read from it (decoding every value cost a third
    /// of the central's CPU).
    struct Incoming: Decodable {
        struct GapValues: Decodable { var count: Double? }
        var schemaVersion: Int
        var eventID: String
        var site: String
        var edge: String
        var bootEpoch: Int64?
        var seq: Int64?
        var equipment: String
        var signal: String
        var type: EventType
        var priority: PriorityClass
        var occurredAt: Timestamp
        var edgeReceivedAt: Timestamp
        var isHistorical: Bool
        var values: GapValues?

        enum CodingKeys: String, CodingKey {
            case schemaVersion = "schema_version"
            case eventID = "event_id"
            case site, edge
            case bootEpoch = "boot_epoch"
            case seq, equipment, signal, type, priority
            case occurredAt = "occurred_at"
            case edgeReceivedAt = "edge_received_at"
            case isHistorical = "is_historical"
            case values
        }

        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            schemaVersion = try c.decode(Int.self, forKey: .schemaVersion)
            eventID = try c.decode(String.self, forKey: .eventID)
            site = try c.decode(String.self, forKey: .site)
            edge = try c.decode(String.self, forKey: .edge)
            bootEpoch = try c.decodeIfPresent(Int64.self, forKey: .bootEpoch)
            seq = try c.decodeIfPresent(Int64.self, forKey: .seq)
            equipment = try c.decode(String.self, forKey: .equipment)
            signal = try c.decode(String.self, forKey: .signal)
            type = try c.decode(EventType.self, forKey: .type)
            priority = try c.decode(PriorityClass.self, forKey: .priority)
            occurredAt = try c.decode(Timestamp.self, forKey: .occurredAt)
            edgeReceivedAt = try c.decode(Timestamp.self, forKey: .edgeReceivedAt)
            isHistorical = try c.decode(Bool.self, forKey: .isHistorical)
            values = type == .gap ? try c.decodeIfPresent(GapValues.self, forKey: .values) : nil
        }
    }

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
        let wire: Wire
        do {
            wire = try JSONDecoder().decode(Wire.self, from: Data(payload))
        } catch {
            return reject("unreadable batch: \(error)")
        }
        guard wire.v == 1 else { return reject("protocol version \(wire.v) is not supported (this central speaks 1)") }
        guard wire.site == site, wire.edge == edge else {
            return reject("batch says \(wire.site)/\(wire.edge) but arrived on the topic of \(site)/\(edge)")
        }
        // Each event is stored exactly as the edge committed it: its bytes in the batch.
        guard let spans = RawJSONSpans.arrayElements(of: "events", in: payload), spans.count == wire.events.count else {
            return reject("cannot locate the events in the batch")
        }
        var events: [StoredEvent] = []
        events.reserveCapacity(wire.events.count)
        for (i, e) in wire.events.enumerated() {
            guard e.schemaVersion == EventEnvelope.currentSchemaVersion else {
                return reject("event \(i): schema_version \(e.schemaVersion) is not supported")
            }
            guard e.site == site, e.edge == edge else { return reject("event \(i) belongs to \(e.site)/\(e.edge)") }
            guard let epoch = e.bootEpoch, let seq = e.seq, seq > 0 else { return reject("event \(i) has no boot_epoch/seq") }
            guard !e.eventID.isEmpty else { return reject("event \(i) has no event_id") }
            let body = String(decoding: payload[spans[i]], as: UTF8.self)
            let dropped = Int(e.values?.count ?? 0)
            events.append(StoredEvent(edge: edge, site: site, eventID: e.eventID, equipment: e.equipment, signal: e.signal,
                                      type: e.type, priority: e.priority, bootEpoch: epoch, seq: seq, occurredAt: e.occurredAt,
                                      edgeReceivedAt: e.edgeReceivedAt, isHistorical: e.isHistorical,
                                      body: body, droppedCount: dropped))
        }
        return .success(ValidBatch(batch: wire.batch, site: site, edge: edge, events: events))
    }
}
