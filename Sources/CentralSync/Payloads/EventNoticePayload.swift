import Foundation
import MillwrightCore

/// The payload of an immediate-tier posting (maintenance notification, quality hold, escalation,
/// planning exception): one event, where it happened, the order running then, and the event's own
/// values as top-level fields (`duration_s`, `reason`, `severity`, `value`, ...).
///
/// Why the values are flat: targets' templates name them directly (`{{duration_s}}`). A value whose
/// name is one of the fixed fields below is left out: the fixed field wins.
public struct EventNoticePayload: PostingPayload, Hashable {
    public var key: String
    public var kind: PostingKind
    public var site: String
    public var edge: String
    public var equipment: String
    public var signal: String
    public var eventType: EventType
    public var workCenter: String
    /// Event time, corrected onto the central's clock when the edge's clock was off.
    public var occurredAt: Timestamp
    /// The event's key, `<edge>:<boot epoch>:<seq>`: what `trace --event` takes.
    public var event: String
    public var orderID: Int64?
    public var orderNumber: String?
    public var orderReference: String?
    /// The event's values.
    public var values: [String: Value]

    enum CodingKeys: String, CodingKey, CaseIterable {
        case key, kind, site, edge, equipment, signal, event
        case eventType = "event_type", workCenter = "work_center", occurredAt = "occurred_at"
        case orderID = "order_id", orderNumber = "order_number", orderReference = "order_reference"
    }

    /// Open: an event's values are any names its rule writes.
    public static var knownFields: Set<String>? { nil }
    static let fixedFields = Set(CodingKeys.allCases.map(\.rawValue))

    public init(key: String, kind: PostingKind, envelope e: EventEnvelope, occurredAt: Timestamp, workCenter: String,
                orderID: Int64?, orderNumber: String?, orderReference: String?) {
        self.key = key
        self.kind = kind
        self.site = e.site
        self.edge = e.edge
        self.equipment = e.equipment
        self.signal = e.signal
        self.eventType = e.type
        self.workCenter = workCenter
        self.occurredAt = occurredAt
        self.event = "\(e.edge):\(e.bootEpoch ?? 0):\(e.seq ?? 0)"
        self.orderID = orderID
        self.orderNumber = orderNumber
        self.orderReference = orderReference
        self.values = e.values.filter { !Self.fixedFields.contains($0.key) }
    }

    /// Any field name, for the values.
    struct ValueKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        key = try c.decode(String.self, forKey: .key)
        kind = try c.decode(PostingKind.self, forKey: .kind)
        site = try c.decode(String.self, forKey: .site)
        edge = try c.decode(String.self, forKey: .edge)
        equipment = try c.decode(String.self, forKey: .equipment)
        signal = try c.decode(String.self, forKey: .signal)
        eventType = try c.decode(EventType.self, forKey: .eventType)
        workCenter = try c.decode(String.self, forKey: .workCenter)
        occurredAt = try c.decode(Timestamp.self, forKey: .occurredAt)
        event = try c.decode(String.self, forKey: .event)
        orderID = try c.decodeIfPresent(Int64.self, forKey: .orderID)
        orderNumber = try c.decodeIfPresent(String.self, forKey: .orderNumber)
        orderReference = try c.decodeIfPresent(String.self, forKey: .orderReference)
        let all = try decoder.container(keyedBy: ValueKey.self)
        var values: [String: Value] = [:]
        for k in all.allKeys where !Self.fixedFields.contains(k.stringValue) {
            values[k.stringValue] = try all.decode(Value.self, forKey: k)
        }
        self.values = values
    }

    /// One container for the fixed fields and the values (an encoder need not merge two).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: ValueKey.self)
        func put<T: Encodable>(_ value: T?, _ key: CodingKeys) throws {
            if let value { try c.encode(value, forKey: ValueKey(stringValue: key.rawValue)) }
        }
        for (name, value) in values where !Self.fixedFields.contains(name) {
            try c.encode(value, forKey: ValueKey(stringValue: name))
        }
        try put(key, .key)
        try put(kind, .kind)
        try put(site, .site)
        try put(edge, .edge)
        try put(equipment, .equipment)
        try put(signal, .signal)
        try put(eventType, .eventType)
        try put(workCenter, .workCenter)
        try put(occurredAt, .occurredAt)
        try put(event, .event)
        try put(orderID, .orderID)
        try put(orderNumber, .orderNumber)
        try put(orderReference, .orderReference)
    }

    public func check(kind expected: PostingKind, key expectedKey: String) throws(PayloadError) {
        try Self.checkIdentity(kind: kind, key: key, expected: expected, expectedKey: expectedKey)
        guard PostingKind.eventNotices.contains(kind) else {
            throw .invalid(kind, field: "kind", reason: "is not an event notice (\(PostingKind.eventNotices.map(\.rawValue).joined(separator: ", ")))")
        }
        for (name, value) in values {
            if case .number(let n) = value, !n.isFinite { throw .invalid(kind, field: name, reason: "must be a finite number") }
        }
    }
}
