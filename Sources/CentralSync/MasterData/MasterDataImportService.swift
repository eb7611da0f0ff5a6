import Foundation
import Logging
import MillwrightCore
import ServiceLifecycle

/// Imports released orders, their operations and planned inputs from the ERP on a schedule
/// (incrementally after the first full import), and records the ERP's running works as
/// assignments for equipment the MES does not report.
public final class MasterDataImportService: Service {
    let source: any MasterDataSource
    let store: SyncStore
    let config: SyncConfiguration
    let logger: Logger

    public init(source: any MasterDataSource, store: SyncStore, config: SyncConfiguration, logger: Logger) {
        self.source = source
        self.store = store
        self.config = config
        self.logger = logger
    }

    public func run() async throws {
        var since: Timestamp?
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let started = Timestamp.now()
            do {
                // An import cut short by shutdown is read again next start (imports are incremental reads).
                let from = since
                _ = try await cancelWhenGracefulShutdown { try await self.importOnce(since: from) }
                // Overlap by a minute: an order changed during the import is read again, not missed.
                since = started - .seconds(60)
            } catch {
                logger.error("ERP import failed; retrying after import_every", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(self.config.importEvery.value)) }
        }
    }

    /// One import; returns how many orders were read.
    @discardableResult
    public func importOnce(since: Timestamp? = nil, now: Timestamp = .now()) async throws -> Int {
        let centers = Set(config.equipment.values.map(\.workCenter))
        do {
            let orders = try await source.fetchOrders(workCenters: centers, since: since)
            try store.upsertOrders(orders, now: now)
            try recordERPAssignments(orders, now: now)
            logger.debug("ERP import", metadata: ["orders": "\(orders.count)", "incremental": "\(since != nil)"])
            return orders.count
        } catch {
            logger.warning("ERP import failed; the last imported master data stays in use", metadata: ["error": "\(error)"])
            throw error
        }
    }

    /// Running works on mapped work centers start an assignment (at import time: the ERP does not
    /// say when a work started); a work that stopped running ends it.
    func recordERPAssignments(_ orders: [ERPOrder], now: Timestamp) throws {
        let equipmentByCenter = Dictionary(grouping: config.equipment.keys.sorted(), by: { config.equipment[$0]!.workCenter })
        let changes = try store.assignmentChanges().filter { $0.source == "erp" }
        for o in orders {
            for w in o.works {
                for equipment in equipmentByCenter[w.workCenter] ?? [] {
                    let last = changes.filter { $0.equipment == equipment && $0.orderRef == o.number }.max { $0.at < $1.at }
                    let running = w.state == "running" && !o.isClosed
                    if running && last?.action != .start {
                        try store.recordAssignmentChange(equipment: equipment, orderRef: o.number, action: .start, at: now, source: "erp", now: now)
                    } else if !running && last?.action == .start {
                        try store.recordAssignmentChange(equipment: equipment, orderRef: o.number, action: .stop, at: now, source: "erp", now: now)
                    }
                }
            }
        }
    }
}
