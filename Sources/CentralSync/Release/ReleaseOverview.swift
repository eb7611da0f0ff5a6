import MillwrightCore

/// Where the order releases stand, for `status`: how many copies are in each posting status,
/// how many delivered copies await the MES's answer, and which of those are overdue (delivered
/// longer than `mes.answer_within` ago and still the latest version for their order and equipment:
/// an older version a newer one replaced needs no answer).
///
/// Why derived from the outbox: the releases are postings; their status, times and payloads are
/// all the overview needs, on every backend.
public struct ReleaseOverview: Sendable, Hashable, Codable {
    public struct Overdue: Sendable, Hashable, Codable {
        public var key: String
        public var orderNumber: String
        public var equipment: String
        public var version: Int
        public var deliveredAt: String
        public var waitingS: Double
    }

    /// Copies per posting status (`pending`, `sent`, `acked`: delivered, awaiting an answer,
    /// `confirmed`: accepted, `dead`: rejected or undeliverable).
    public var copies: [String: Int]
    /// Latest copies delivered and not answered yet.
    public var awaitingAnswer: Int
    public var overdue: [Overdue]
    /// Copies whose payload cannot be read (edited in the store by hand; the pass logs which).
    public var unreadable: Int
    /// Release latency: from the release posting (the pass saw the ERP release the order) to the
    /// MES's acceptance, over accepted copies.
    public var acceptedAfter: LatencySummary?

    public static func make(_ postings: [Posting], answerWithin: Millis, now: Timestamp) -> ReleaseOverview {
        var copies: [String: Int] = [:]
        var unreadable = 0
        var latest: [String: (payload: OrderReleasePayload, posting: Posting)] = [:]
        for p in postings where p.kind == .orderRelease {
            copies[p.status.rawValue, default: 0] += 1
            // A payload that cannot be read is reported by the reconcile pass; here it is only counted.
            let r: OrderReleasePayload
            do { r = try OrderReleasePayload.decode(p.payload, as: .orderRelease) } catch {
                unreadable += 1
                continue
            }
            let slot = "\(r.orderID)/\(r.equipment)"
            if (latest[slot]?.payload.version ?? 0) < r.version { latest[slot] = (r, p) }
        }
        var awaiting = 0
        var overdue: [Overdue] = []
        for (r, p) in latest.values where p.status == .acked {
            awaiting += 1
            let waiting = now - p.updatedAt
            if waiting.value > answerWithin.value {
                overdue.append(Overdue(key: p.idempotencyKey, orderNumber: r.orderNumber, equipment: r.equipment, version: r.version,
                                       deliveredAt: p.updatedAt.rfc3339, waitingS: waiting.seconds))
            }
        }
        let accepted = postings.filter { $0.kind == .orderRelease && $0.status == .confirmed }.map { ($0.updatedAt - $0.createdAt).seconds }
        return ReleaseOverview(copies: copies, awaitingAnswer: awaiting,
                               overdue: overdue.sorted { ($0.deliveredAt, $0.key) < ($1.deliveredAt, $1.key) }, unreadable: unreadable,
                               acceptedAfter: .of(accepted))
    }
}
