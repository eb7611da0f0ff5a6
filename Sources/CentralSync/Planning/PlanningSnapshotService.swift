import CentralIngest
import Foundation
import Logging
import MillwrightCore
import Reconciliation
import ServiceLifecycle

/// Scheduled planning snapshots: order status and produced versus planned, and per equipment the
/// running order and recent downtime. Written to a folder (`latest.json` plus a timestamped copy)
/// and/or sent to a target. Exceptions between snapshots travel as `planning_exception` postings.
/// Each destination's last success is recorded, so status can show a freshness figure.
public final class PlanningSnapshotService: Service {
    let config: SyncConfiguration
    let pass: ReconcilePass
    let connector: (any PostingConnector)?
    /// With replicas: snapshots are made only by the one holding the lease.
    let keeper: LeaseKeeper?
    let logger: Logger

    public init(config: SyncConfiguration, pass: ReconcilePass, connector: (any PostingConnector)?, keeper: LeaseKeeper? = nil, logger: Logger) {
        self.config = config
        self.pass = pass
        self.connector = connector
        self.keeper = keeper
        self.logger = logger
    }

    public func run() async throws {
        guard let every = config.planningEvery else { return }
        await keeper?.started()
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            if let keeper {
                _ = try? await keeper.underLease("planning") { await self.publishOnce() }
            } else {
                await publishOnce()
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: every.duration) }
        }
    }

    public func snapshot(now: Timestamp = .now()) async throws -> PlanningSnapshot {
        let orders = try await pass.store.orders()
        let ledger = try await pass.ledger(now: now)
        let (assignments, _) = try await pass.assignments(orders: orders)
        var orderRows: [PlanningSnapshot.Order] = []
        for o in orders.values.sorted(by: { $0.id < $1.id }) {
            func sum(_ kind: QuantityKind, _ f: (LedgerEntry) -> Double) -> Double {
                ledger.filter { $0.orderID == o.id && $0.kind == kind.rawValue }.map(f).reduce(0, +)
            }
            orderRows.append(PlanningSnapshot.Order(
                orderID: o.id, number: o.number, reference: o.reference, state: o.state, product: o.productCode,
                plannedQuantity: o.quantity, producedPosted: sum(.yield, \.posted), producedDerived: sum(.yield, \.derived),
                scrapDerived: sum(.scrap, \.derived), inReview: sum(.yield, \.inReview) + sum(.scrap, \.inReview),
                producedConfirmed: config.postsCountedQuantities ? nil : sum(.yield, \.confirmed),
                discrepancies: config.postsCountedQuantities ? nil : ledger.filter { $0.orderID == o.id }.flatMap(\.discrepancies)))
        }
        var equipmentRows: [PlanningSnapshot.Equipment] = []
        let dayAgo = now - .seconds(86400)
        let downtimes = try await pass.events.events(occurredSince: dayAgo, FeedFilter(equipment: Array(config.equipment.keys), types: [.downtime]))
        let unassigned = try await pass.store.unassigned().map(\.span)
        for name in config.equipment.keys.sorted() {
            let current = assignments.last { $0.equipment == name && $0.contains(now) }
            let loose = unassigned.filter { $0.equipment == name }
            let down = downtimes.filter { $0.equipment == name }.compactMap { row -> Double? in
                guard let e = try? JSONDecoder().decode(EventEnvelope.self, from: Data(row.body.utf8)), case .number(let s)? = e.values["duration_s"] else { return nil }
                return s
            }.reduce(0, +)
            let running = current.flatMap { c in orders[c.orderID].map { (c, $0) } }
            equipmentRows.append(PlanningSnapshot.Equipment(
                equipment: name, workCenter: config.equipment[name]?.workCenter ?? "",
                downtimeMinutes24h: (down / 60 * 10).rounded() / 10,
                unassignedYield: loose.filter { $0.kind == .yield }.map(\.quantity).reduce(0, +),
                unassignedScrap: loose.filter { $0.kind == .scrap }.map(\.quantity).reduce(0, +),
                runningOrder: running?.1.number, since: running?.0.from))
        }
        return PlanningSnapshot(generatedAt: now, orders: orderRows, equipment: equipmentRows)
    }

    public func publishOnce(now: Timestamp = .now()) async {
        let body: String
        do {
            body = try await snapshot(now: now).text()
        } catch {
            logger.error("cannot build a planning snapshot", metadata: ["error": "\(error)"])
            return
        }
        // Files cannot be fenced by the store: check right before writing that the lease is still ours.
        if let keeper, let lease = Lease.current, keeper.held?.token != lease.token {
            logger.warning("the lease was lost before the planning snapshot was written; skipped")
            return
        }
        if let folder = config.planningFolder {
            do {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                let stamp = now.rfc3339.replacingOccurrences(of: ":", with: "")
                try Data(body.utf8).write(to: URL(fileURLWithPath: folder).appendingPathComponent("snapshot-\(stamp).json"), options: .atomic)
                try Data(body.utf8).write(to: URL(fileURLWithPath: folder).appendingPathComponent("latest.json"), options: .atomic)
                try await pass.store.recordTargetHealth("planning:folder", breaker: .closed, failures: 0, success: true, error: nil, now: now)
            } catch {
                await recordHealth("planning:folder", success: false, error: "\(error)", now: now)
                logger.warning("cannot write the planning snapshot", metadata: ["folder": "\(folder)", "error": "\(error)"])
            }
        }
        if let connector, let target = config.planningTarget {
            let p = Posting(id: 0, idempotencyKey: "planning_snapshot:\(now.milliseconds)", target: target, kind: .planningSnapshot, line: "",
                            orderID: nil, quantity: 0, payload: body, sources: [], status: .pending, attempts: 0, nextAttemptAt: now,
                            documentRef: nil, lastError: nil, createdAt: now, updatedAt: now)
            // A snapshot is replaced by the next one: not worth an outbox row, only a freshness figure.
            switch await connector.deliver(p) {
            case .delivered, .found:
                await recordHealth("planning:\(target)", success: true, error: nil, now: now)
            case .failed(let error):
                await recordHealth("planning:\(target)", success: false, error: error, now: now)
                logger.warning("cannot send the planning snapshot", metadata: ["target": "\(target)", "error": "\(error)"])
            }
        }
    }

    /// Freshness per destination: a failure to record it is logged, never swallowed.
    func recordHealth(_ target: String, success: Bool, error: String?, now: Timestamp) async {
        do {
            try await pass.store.recordTargetHealth(target, breaker: .closed, failures: success ? 0 : 1, success: success, error: error, now: now)
        } catch let storeError {
            logger.error("cannot record planning freshness", metadata: ["target": "\(target)", "error": "\(storeError)"])
        }
    }
}
