import Foundation
import MillwrightCore

/// The MES -> ERP leg's business figures for `status` (the seed's "confirmation latency and
/// success rate, machine-vs-MES discrepancy rate"): confirmations booked, their postings by
/// status, the share delivered of those settled, how long the ERP took to take them, and how many
/// compared operations of ended orders were discrepancies.
///
/// Why derived from the outbox and the ledger: both already hold every fact on every backend;
/// refusals are counted in the running process only (`ConfirmationBook.Stats`) and are not here.
public struct ConfirmationOverview: Sendable, Hashable, Codable {
    /// Distinct confirmation ids with postings.
    public var confirmations: Int
    /// Their postings per status.
    public var postings: [String: Int]
    /// Delivered (acked) among the settled (acked or dead); nil before any settled.
    public var successRate: Double?
    /// From booking to the ERP's acknowledgement, over delivered postings.
    public var latency: LatencySummary?
    /// Operations of ended orders compared with the machines' counts, and the discrepancies among them.
    public var compared: Int
    public var discrepancies: Int

    public static func make(_ postings: [Posting], ledger: [LedgerEntry]) -> ConfirmationOverview {
        var ids = Set<String>()
        var byStatus: [String: Int] = [:]
        var acked = 0, dead = 0
        var latencies: [Double] = []
        for p in postings {
            guard let id = ConfirmationPlanner.confirmationID(of: p) else { continue }
            ids.insert(id)
            byStatus[p.status.rawValue, default: 0] += 1
            switch p.status {
            case .acked, .confirmed:
                acked += 1
                latencies.append((p.updatedAt - p.createdAt).seconds)
            case .dead: dead += 1
            default: break
            }
        }
        return ConfirmationOverview(confirmations: ids.count, postings: byStatus,
                                    successRate: acked + dead > 0 ? Double(acked) / Double(acked + dead) : nil,
                                    latency: .of(latencies), compared: ledger.map(\.compared).reduce(0, +),
                                    discrepancies: ledger.map(\.discrepancies.count).reduce(0, +))
    }
}
