import Foundation
import MillwrightCore

/// The payload of a work cycle posting: the time an MES confirmed for one operation of an order
/// (`MESConfirmation`), to book as a done work cycle on the order's work.
///
/// Why machine and labour apart: the ERP costs a work center by its time (Tryton: the cycle's
/// duration, priced by the work center's cost per hour) and people by theirs (a timesheet); an
/// MES reports both, and neither may be guessed from the other.
public struct WorkCyclePayload: PostingPayload, Hashable {
    public var key: String
    public var kind: PostingKind
    public var orderID: Int64
    public var orderNumber: String
    public var orderReference: String
    /// The order's work (operation on a work center) the time was spent on.
    public var workID: Int64
    public var operation: String
    /// The MES's id of the confirmation the time comes from.
    public var confirmation: String
    /// Seconds the work center ran for the operation (the cycle's duration); 0 when not given.
    public var machineSeconds: Double
    /// Seconds people worked on it; 0 when not given.
    public var laborSeconds: Double
    /// When the MES says the confirmed work ended (RFC 3339).
    public var endedAt: Timestamp
    /// Who confirmed (the MES's name for itself or the operator), for the audit trail.
    public var by: String

    enum CodingKeys: String, CodingKey, CaseIterable {
        case key, kind, operation, confirmation, by
        case orderID = "order_id", orderNumber = "order_number", orderReference = "order_reference", workID = "work_id"
        case machineSeconds = "machine_seconds", laborSeconds = "labor_seconds", endedAt = "ended_at"
    }

    public static var knownFields: Set<String>? { Set(CodingKeys.allCases.map(\.rawValue)) }

    /// A cycle longer than this is refused (a week: a confirmation is for one operation's run).
    public static let maxSeconds = 7 * 24 * 3600.0

    public init(key: String, orderID: Int64, orderNumber: String, orderReference: String, workID: Int64, operation: String,
                confirmation: String, machineSeconds: Double, laborSeconds: Double, endedAt: Timestamp, by: String) {
        self.key = key
        self.kind = .workCycle
        self.orderID = orderID
        self.orderNumber = orderNumber
        self.orderReference = orderReference
        self.workID = workID
        self.operation = operation
        self.confirmation = confirmation
        self.machineSeconds = machineSeconds
        self.laborSeconds = laborSeconds
        self.endedAt = endedAt
        self.by = by
    }

    public func check(kind expected: PostingKind, key expectedKey: String) throws(PayloadError) {
        try Self.checkIdentity(kind: kind, key: key, expected: expected, expectedKey: expectedKey)
        for (field, id) in [("order_id", orderID), ("work_id", workID)] where id <= 0 {
            throw .invalid(kind, field: field, reason: "must be an ERP id, 1 or more (got \(id))")
        }
        for (field, seconds) in [("machine_seconds", machineSeconds), ("labor_seconds", laborSeconds)]
        where !(seconds.isFinite && seconds >= 0 && seconds <= Self.maxSeconds) {
            throw .invalid(kind, field: field, reason: "must be 0 to \(Int(Self.maxSeconds)) seconds (got \(seconds))")
        }
        guard machineSeconds > 0 || laborSeconds > 0 else {
            throw .invalid(kind, field: "machine_seconds", reason: "and labor_seconds are both 0: a cycle needs a duration")
        }
    }
}
