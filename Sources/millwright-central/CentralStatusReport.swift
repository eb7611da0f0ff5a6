import CentralIngest
import CentralSync
import Foundation
import MillwrightCore

/// Everything `millwright-central status` reports, gathered once: the text output and `--json` are
/// two renderings of this value, and the exit status is its findings' code. Why a type: a monitor
/// reading the JSON and an operator reading the text must never see different answers.
struct CentralStatusReport: Codable {
    var central: String
    var version: String
    var at: String
    var store: String
    var eventsStored: Int
    var batchesRefused: [String: Int]
    var replicas: Replicas
    var edges: [Edge]
    var unassigned: [Unassigned]
    var leases: [LeaseEntry]
    var claims: [Claims]
    var postings: [String: Int]
    /// Order releases to the MES, when `order_release` is routed.
    var releases: ReleaseOverview?
    /// With `mes.confirmations`: operations of ended orders whose machine count and MES figure differ
    /// beyond `mes.tolerance` (a warning: planning and an operator look, nothing is stuck).
    var discrepancies: [Discrepancy]?
    /// With MES confirmations: what was booked and how it went (`ConfirmationOverview`).
    var confirmations: ConfirmationOverview?
    /// With `mes.inspections`: the lots the latest delivered inspection holds.
    var heldLots: [HeldLot]?
    var reviewItems: Int
    var targets: [Target]
    var storage: Storage
    var findings: [StatusFinding]
    /// Worth acting on but not a failure (the exit status ignores them): a store nearly full, a
    /// retention run that stopped early.
    var warnings: [String]
    var exitCode: Int32

    /// The store's size and growth, and retention's work.
    struct Storage: Codable {
        var storeBytes: Int64
        var volumeBytes: Int64?
        var volumeUsedBytes: Int64?
        var volumeWarningAt: Double
        /// Per retention class: the oldest event time stored.
        var oldest: [String: String]
        /// Per retention class: days kept, nil for ever.
        var retentionDays: [String: Double?]
        var lastRun: LastRun?
        /// When the next run is due (the last's end plus `retention.every`); nil before the first.
        var nextRunAfter: String?
        var holds: [RetentionHoldRange]
    }

    struct LastRun: Codable {
        var startedAt: String
        var finishedAt: String
        var deleted: [String: Int]
        var archived: Int
        var kept: Int
        var error: String?
    }

    struct Replicas: Codable {
        var broker: String
        var online: [Replica]
        var gone: [Replica]
        /// The broker could not be asked (the reason); nothing is known of the replicas then.
        var error: String?
    }

    struct Replica: Codable {
        var id: String
        var sinceAgeS: Double?
        /// stopped or lost, for a replica that is gone.
        var reason: String?
    }

    struct Edge: Codable {
        var site: String
        var edge: String
        var lastSeenAgeS: Double
        var epoch: Int64
        var lastSeq: Int64
        var events: Int
        var duplicates: Int
        var gapRecords: Int
        var droppedAtEdge: Int
        /// The edge's retained status is its last will: the broker lost it.
        var offline: Bool
    }

    struct Unassigned: Codable {
        var equipment: String
        var quantities: [String: Double]
        var spans: Int
        var since: String
    }

    struct LeaseEntry: Codable {
        var name: String
        var holder: String
        var generation: Int64
        /// Negative: expired that long ago.
        var expiresInS: Double
    }

    struct Claims: Codable {
        var holder: String
        var active: Int
        var expired: Int
    }

    struct Target: Codable {
        var target: String
        var breaker: BreakerState
        var failures: Int
        var lastSuccessAgeS: Double?
        var lastError: String?
    }

    /// A lease expired this long while a replica is online means the sync work stands still.
    static let leaseStaleAfterSeconds = 60.0

    /// The findings, from what was gathered; see `StatusCondition` for the codes.
    static func findings(replicas: Replicas, edges: [Edge], leases: [LeaseEntry], postings: [String: Int], releases: ReleaseOverview? = nil,
                         targets: [Target]) -> [StatusFinding] {
        var out: [StatusFinding] = []
        if let error = replicas.error {
            out.append(.init(.notRunning, "cannot ask the \(replicas.broker) which replicas are online: \(error)"))
        } else if replicas.online.isEmpty {
            out.append(.init(.notRunning, "no replica of this central is online on the \(replicas.broker)"))
        }
        if out.isEmpty {
            for l in leases where -l.expiresInS > leaseStaleAfterSeconds {
                out.append(.init(.stale, String(format: "lease %@ expired %.0f s ago and no replica took it over (last held by %@): the work under it stands still",
                                                l.name, -l.expiresInS, l.holder)))
            }
        }
        if let overdue = releases?.overdue, !overdue.isEmpty {
            out.append(.init(.unhealthy, "\(overdue.count) order release(s) unanswered by the MES past mes.answer_within (oldest: \(overdue[0].orderNumber) on \(overdue[0].equipment), version \(overdue[0].version), delivered \(overdue[0].deliveredAt))"))
        }
        let dead = postings[Posting.Status.dead.rawValue] ?? 0
        if dead > 0 {
            out.append(.init(.unhealthy, "\(dead) dead-lettered posting(s): `millwright-central postings --status dead`, fix, then `postings replay`"))
        }
        for t in targets where t.breaker != .closed {
            out.append(.init(.unhealthy, "target \(t.target): breaker \(t.breaker) after \(t.failures) failure(s): \(t.lastError ?? "-")"))
        }
        for e in edges where e.offline {
            out.append(.init(.unhealthy, "edge \(e.site)/\(e.edge) is offline (its last will; last batch \(String(format: "%.0f", e.lastSeenAgeS)) s ago)"))
        }
        return out
    }
}
