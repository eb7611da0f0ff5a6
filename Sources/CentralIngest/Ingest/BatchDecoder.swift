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

    public init(edge: String, site: String, eventID: String, equipment: String, signal: String, type: EventType,
                priority: PriorityClass, bootEpoch: Int64, seq: Int64, occurredAt: Timestamp, edgeReceivedAt: Timestamp,
                isHistorical: Bool, body: String, droppedCount: Int) {
        self.edge = edge
        self.site = site
        self.eventID = eventID
        self.equipment = equipment
        self.signal = signal
        self.type = type
        self.priority = priority
        self.bootEpoch = bootEpoch
        self.seq = seq
        self.occurredAt = occurredAt
        self.edgeReceivedAt = edgeReceivedAt
        self.isHistorical = isHistorical
        self.body = body
        self.droppedCount = droppedCount
    }
}

/// A batch that passed validation, every event of it.
public struct ValidBatch: Sendable {
    public var batch: String
    /// The edge's boot epoch from the batch header (edges of release 3 on), echoed in the ack.
    public var epoch: Int64?
    public var site: String
    public var edge: String
    public var events: [StoredEvent]

    public init(batch: String, epoch: Int64? = nil, site: String, edge: String, events: [StoredEvent]) {
        self.batch = batch
        self.epoch = epoch
        self.site = site
        self.edge = edge
        self.events = events
    }
}

/// A batch refused as a whole (never half-applied), kept raw for operators.
public struct RejectedBatch: Error, Sendable, CustomStringConvertible {
    public var topic: String
    public var kind: BatchRefusalReason
    public var reason: String
    public var payload: [UInt8]
    /// Set when the batch was readable enough to tell the edge what was refused.
    public var site: String?
    public var edge: String?
    public var batch: String?
    public var epoch: Int64?
    public var ranges: [SeqRange]

    /// Whether the central tells the edge of the topic it came on. Not for a batch that names
    /// another edge than its topic (in its header or in an event): the edge of the topic did not
    /// write it (an edge never does), so a refusal could only make that edge let go of its own
    /// events, and the edge it names never sent it either. It is kept raw and counted, unanswered.
    public var answered: Bool { kind != .wrongEdge && site != nil && edge != nil && batch != nil }

    public var description: String { "\(kind.rawValue): \(reason)" }
}

/// Decodes and validates one uplink batch (protocol v1).
///
/// Everything in a batch is untrusted: every field of every event is checked against the envelope
/// schema and every number is range-checked before anything is stored, so a crafted batch is
/// refused with a reason instead of trapping the process or leaving rows later stages must skip.
package enum BatchDecoder {
    /// More events than any edge sends in one batch (`uplink.batch_events` is at most 100,000).
    static let maxEvents = 100_000
    /// The widest time the central accepts: 1970-01-01 up to the end of year 9999, in epoch ms.
    static let timeRange: ClosedRange<Double> = 0...253_402_300_799_999
    /// Integers beyond 2^53 lose precision as JSON numbers; sequence numbers and epochs stay below.
    static let maxInteger: Double = 9_007_199_254_740_991
    static let headerPaths = ["v", "batch", "site", "edge", "epoch"].map { JSONPath(parsing: $0)! }
    static let valuesPath = JSONPath(parsing: "values")!
    /// The fields the central validates and indexes; `values` stays verbatim in the stored body.
    static let eventPaths = ["schema_version", "event_id", "site", "edge", "boot_epoch", "seq", "equipment", "signal",
                             "type", "priority", "occurred_at", "edge_received_at", "is_historical", "values"]
        .map { JSONPath(parsing: $0)! }
    static let seqPath = [JSONPath(parsing: "seq")!]

    package static func decode(topic: String, payload: [UInt8], maxBytes: Int) -> Result<ValidBatch, RejectedBatch> {
        guard let (site, edge) = UplinkTopics.parse(topic, kind: "events") else {
            return .failure(RejectedBatch(topic: topic, kind: .notEventsTopic, reason: "not an events topic", payload: payload, ranges: []))
        }
        var batchID: String?
        var epoch: Int64?
        var spans: [Range<Int>]?
        func reject(_ kind: BatchRefusalReason, _ reason: String) -> Result<ValidBatch, RejectedBatch> {
            .failure(RejectedBatch(topic: topic, kind: kind, reason: reason, payload: payload, site: site, edge: edge,
                                   batch: batchID ?? leadingBatchID(payload), epoch: epoch, ranges: spans.map { seqRanges(payload, $0) } ?? []))
        }
        guard payload.count <= maxBytes else {
            return reject(.tooLarge, "batch of \(payload.count) bytes exceeds max_batch_bytes \(maxBytes)")
        }
        // One validating pass over the whole batch (JSONDecoder cost most of the central's CPU).
        let header: [JSONScalar?]
        do {
            header = try payload.withUnsafeBytes { try JSONPathScanner.scan($0, paths: headerPaths) }
        } catch JSONScanError.tooDeep {
            return reject(.tooDeep, "unreadable batch: nested deeper than \(JSONPathScanner.maxDepth) levels")
        } catch {
            return reject(.malformedJSON, "unreadable batch: not valid JSON (\(error))")
        }
        if case .string(let b)? = header[1] { batchID = b }
        // Valid JSON from here: the spans are trustworthy, so refusals can name the sequence numbers.
        spans = RawJSONSpans.arrayElements(of: "events", in: payload)
        guard case .number(let v)? = header[0] else { return reject(.unsupportedVersion, "unreadable batch: no protocol version \"v\"") }
        guard v == 1 else { return reject(.unsupportedVersion, "protocol version \(Value.number(v)) is not supported (this central speaks 1)") }
        guard let batch = batchID, !batch.isEmpty, batch.utf8.count <= 200, case .string(let bSite)? = header[2],
              case .string(let bEdge)? = header[3] else {
            return reject(.badHeader, "unreadable batch: batch (1 to 200 bytes), site and edge must be text")
        }
        switch header[4] {
        case nil: break
        case .number(let d)? where integer(d).map({ $0 >= 0 }) == true: epoch = integer(d)
        default: return reject(.badHeader, "the batch's epoch must be an integer of at least 0, below 2^53")
        }
        guard bSite == site, bEdge == edge else {
            return reject(.wrongEdge, "batch says \(bSite)/\(bEdge) but arrived on the topic of \(site)/\(edge)")
        }
        // Each event is stored exactly as the edge committed it: its bytes in the batch.
        guard let spans, !spans.isEmpty else { return reject(.badEventList, "unreadable batch: no \"events\" list, or an empty one") }
        guard spans.count <= maxEvents else { return reject(.badEventList, "\(spans.count) events in one batch; at most \(maxEvents)") }
        var events: [StoredEvent] = []
        events.reserveCapacity(spans.count)
        for (i, span) in spans.enumerated() {
            let scanned: (found: [JSONScalar?], members: [(key: String, value: JSONScalar)]?)
            do {
                scanned = try payload.withUnsafeBytes {
                    try JSONPathScanner.scan(UnsafeRawBufferPointer(rebasing: $0[span]), paths: eventPaths, membersOf: valuesPath)
                }
            } catch {
                return reject(.malformedJSON, "event \(i) is not valid JSON")
            }
            switch parse(scanned.found, values: scanned.members, site: site, edge: edge, body: String(decoding: payload[span], as: UTF8.self)) {
            case .success(let e): events.append(e)
            case .failure(let why): return reject(why.kind, "event \(i): \(why.description)")
            }
        }
        return .success(ValidBatch(batch: batch, epoch: epoch, site: site, edge: edge, events: events))
    }

    /// The batch id of a batch too broken to parse, if it starts the way every edge writes it
    /// (`{"v":1,"batch":"..."`), so the edge can be told to stop resending it.
    static func leadingBatchID(_ payload: [UInt8]) -> String? {
        let prefix = Array(#"{"v":1,"batch":""#.utf8)
        guard payload.count > prefix.count, payload.starts(with: prefix) else { return nil }
        let rest = payload[prefix.count...].prefix(201)
        guard let end = rest.firstIndex(of: UInt8(ascii: "\"")), end > prefix.count else { return nil }
        let id = payload[prefix.count..<end]
        // Only the characters an edge uses in batch ids: no escapes to interpret.
        guard id.allSatisfy({ $0 >= 0x21 && $0 < 0x7F && $0 != UInt8(ascii: "\\") }) else { return nil }
        return String(decoding: id, as: UTF8.self)
    }

    /// The sequence numbers a refused batch carries, where its events name them as integers.
    static func seqRanges(_ payload: [UInt8], _ spans: [Range<Int>]) -> [SeqRange] {
        var seqs: [Int64] = []
        for span in spans.prefix(maxEvents) {
            guard let f = try? payload.withUnsafeBytes({ try JSONPathScanner.scan(UnsafeRawBufferPointer(rebasing: $0[span]), paths: seqPath) }),
                  case .number(let d)? = f[0], let s = integer(d), s > 0 else { continue }
            seqs.append(s)
        }
        return SeqRange.covering(seqs)
    }

    /// An integral JSON number that fits without loss, or nil.
    static func integer(_ d: Double) -> Int64? {
        guard d.rounded() == d, abs(d) <= maxInteger else { return nil }
        return Int64(exactly: d)
    }

    struct Invalid: Error, CustomStringConvertible {
        let kind: BatchRefusalReason
        let description: String
        init(_ kind: BatchRefusalReason, _ d: String) {
            self.kind = kind
            description = d
        }
    }

    /// One event's fields, checked; `f` follows `eventPaths`.
    static func parse(_ f: [JSONScalar?], values: [(key: String, value: JSONScalar)]?, site: String, edge: String,
                      body: String) -> Result<StoredEvent, Invalid> {
        func text(_ i: Int) -> String? { if case .string(let s)? = f[i] { return s } else { return nil } }
        func shown(_ i: Int) -> String {
            switch f[i] {
            case nil: return "missing"
            case .number(let d)?: return "\(d)"
            case .string(let s)?: return "\"\(s.prefix(60))\""
            case .bool(let b)?: return "\(b)"
            case .null?: return "null"
            case .container?: return "an object or list"
            }
        }
        func time(_ i: Int, _ name: String) -> Result<Timestamp, Invalid> {
            switch f[i] {
            case .string(let s)?:
                guard let t = Timestamp(rfc3339: s), timeRange.contains(Double(t.milliseconds)) else {
                    return .failure(Invalid(.outOfRange, "\(name) \(shown(i)) is not an RFC 3339 time between 1970 and 9999"))
                }
                return .success(t)
            case .number(let d)?:
                guard timeRange.contains(d), let ms = integer(d) else {
                    return .failure(Invalid(.outOfRange, "\(name) \(shown(i)) is not a time in epoch milliseconds between 1970 and 9999"))
                }
                return .success(Timestamp(milliseconds: ms))
            default:
                return .failure(Invalid(.invalidField, "\(name) must be a time (RFC 3339 text or epoch milliseconds), not \(shown(i))"))
            }
        }
        guard case .number(let sv)? = f[0], integer(sv) == Int64(EventEnvelope.currentSchemaVersion) else {
            return .failure(Invalid(.unsupportedVersion, "schema_version \(shown(0)) is not supported"))
        }
        guard let eventID = text(1), !eventID.isEmpty, eventID.utf8.count <= 200 else {
            return .failure(Invalid(.invalidField, "no event_id (1 to 200 bytes of text)"))
        }
        // Names are shown and indexed; a control character (NUL above all, which PostgreSQL text
        // cannot hold) would fail the commit of every batch sharing the transaction.
        for i in [1, 6, 7] {
            if let s = text(i), s.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
                return .failure(Invalid(.invalidField, "\(eventPaths[i]) contains a control character"))
            }
        }
        guard text(2) == site, text(3) == edge else { return .failure(Invalid(.wrongEdge, "belongs to \(text(2) ?? "?")/\(text(3) ?? "?")")) }
        guard case .number(let epochD)? = f[4], case .number(let seqD)? = f[5] else {
            return .failure(Invalid(.invalidField, "has no boot_epoch/seq numbers"))
        }
        guard let epoch = integer(epochD), epoch >= 0, let seq = integer(seqD), seq > 0 else {
            return .failure(Invalid(.outOfRange, "boot_epoch/seq \(shown(4))/\(shown(5)) must be integers, epoch >= 0, seq >= 1, below 2^53"))
        }
        guard let equipment = text(6), let signal = text(7), !equipment.isEmpty, !signal.isEmpty,
              equipment.utf8.count <= 200, signal.utf8.count <= 200 else {
            return .failure(Invalid(.invalidField, "equipment and signal must be text of 1 to 200 bytes"))
        }
        guard let type = text(8).flatMap(EventType.init(rawValue:)) else {
            return .failure(Invalid(.invalidField, "unknown type \(text(8) ?? shown(8))"))
        }
        guard let priority = text(9).flatMap(PriorityClass.init(rawValue:)) else {
            return .failure(Invalid(.invalidField, "unknown priority \(shown(9))"))
        }
        let occurredAt: Timestamp, receivedAt: Timestamp
        switch time(10, "occurred_at") { case .success(let t): occurredAt = t; case .failure(let e): return .failure(e) }
        switch time(11, "edge_received_at") { case .success(let t): receivedAt = t; case .failure(let e): return .failure(e) }
        guard case .bool(let historical)? = f[12] else { return .failure(Invalid(.invalidField, "is_historical must be true or false")) }
        let dropped: Int
        switch EventValueSchema.check(type: type, members: values) {
        case .success(let d): dropped = d
        case .failure(let why): return .failure(why)
        }
        return .success(StoredEvent(edge: edge, site: site, eventID: eventID, equipment: equipment, signal: signal, type: type,
                                    priority: priority, bootEpoch: epoch, seq: seq, occurredAt: occurredAt, edgeReceivedAt: receivedAt,
                                    isHistorical: historical, body: body, droppedCount: dropped))
    }
}

extension ValidBatch {
    /// A batch decoded as the ingest decodes it, for tools of this package (the bench drivers);
    /// a refused batch is thrown with its reason.
    package static func decode(topic: String, payload: [UInt8], maxBytes: Int = 16 << 20) throws -> ValidBatch {
        try BatchDecoder.decode(topic: topic, payload: payload, maxBytes: maxBytes).get()
    }
}
