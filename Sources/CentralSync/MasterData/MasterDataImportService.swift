import Foundation
import Logging
import MillwrightCore
import ServiceLifecycle

/// Imports released orders, their operations and planned inputs from the ERP on a schedule
/// (incrementally after the first full import), and records the ERP's running works as
/// assignments for equipment the MES does not report.
public final class MasterDataImportService: Service {
    let source: any MasterDataSource
    let store: any MasterDataStore
    let config: SyncConfiguration
    /// With replicas: imports run only in the one holding the lease.
    let keeper: LeaseKeeper?
    let logger: Logger

    public init(source: any MasterDataSource, store: any MasterDataStore, config: SyncConfiguration, keeper: LeaseKeeper? = nil, logger: Logger) {
        self.source = source
        self.store = store
        self.config = config
        self.keeper = keeper
        self.logger = logger
    }

    public func run() async throws {
        await keeper?.started()
        var since: Timestamp?
        var validated = false
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let started = Timestamp.now()
            do {
                // An import cut short by shutdown is read again next start (imports are incremental reads).
                let from = since
                let ran: Bool
                if let keeper {
                    // A replica that takes the lease over starts with a full import (its `since` is nil).
                    ran = try await keeper.underLease("erp-import") {
                        _ = try await cancelWhenGracefulShutdown { try await self.importOnce(since: from) }
                    }
                } else {
                    _ = try await cancelWhenGracefulShutdown { try await self.importOnce(since: from) }
                    ran = true
                }
                guard ran else {
                    // Standing by: ask again each renewal period, and import in full once the lease is ours.
                    since = nil
                    let retry = min(keeper?.standbyRetry ?? .seconds(5), self.config.importEvery.duration)
                    try? await cancelWhenGracefulShutdown { try await Task.sleep(for: retry) }
                    continue
                }
                validated = true
                // Overlap by a minute: an order changed during the import is read again, not missed.
                since = started - .seconds(60)
            } catch let error as MasterDataError where !validated {
                // The mapping names work centers or products the ERP does not have: a configuration
                // error, fatal at start-up like any other (a failed service ends the central non-zero).
                logger.critical("the equipment mapping does not match the ERP", metadata: ["problems": "\(error)"])
                throw error
            } catch {
                logger.error("ERP import failed; retrying after import_every", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.config.importEvery.duration) }
        }
    }

    /// One import; returns how many orders were read. Throws `MasterDataError` when a mapped work
    /// center or product is not in the ERP.
    @discardableResult
    public func importOnce(since: Timestamp? = nil, now: Timestamp = .now()) async throws -> Int {
        do {
            let subtrees = try await resolveMapping(first: since == nil)
            let ids = subtrees.values.reduce(into: Set<Int64>()) { $0.formUnion($1) }
            let known = Set(try await store.orders().values.filter { !$0.isClosed }.map(\.id))
            var orders = try await source.fetchOrders(workCenterIDs: ids, known: known, since: since)
            for i in orders.indices {
                for j in orders[i].works.indices {
                    let center = orders[i].works[j].workCenterID
                    orders[i].works[j].equipment = subtrees.filter { center.map($0.value.contains) ?? false }.keys.sorted()
                }
            }
            try await store.upsertOrders(orders, now: now)
            try await recordERPAssignments(orders, now: now)
            logger.debug("ERP import", metadata: ["orders": "\(orders.count)", "incremental": "\(since != nil)"])
            return orders.count
        } catch {
            logger.warning("ERP import failed; the last imported master data stays in use", metadata: ["error": "\(error)"])
            throw error
        }
    }

    /// Per mapped equipment, every work center id whose works belong to it (see `MappingResolution`).
    func resolveMapping(first: Bool) async throws -> [String: Set<Int64>] {
        let resolution = try await MappingResolution.resolve(config, against: source)
        if first {
            for (equipment, e) in resolution.entries.sorted(by: { $0.key < $1.key }) {
                logger.info("equipment mapped", metadata: ["equipment": "\(equipment)", "work_center": "\(e.center.path)",
                                                           "work_center_id": "\(e.center.id)"])
            }
        }
        return resolution.entries.mapValues(\.subtree)
    }

    /// A work of a running production that is not finished: Tryton keeps a work `draft` until an
    /// operator books a cycle, which many plants never do, so `draft` counts as running too.
    static let activeWorkStates: Set<String> = ["draft", "waiting", "running"]

    /// The works of running productions on mapped work centers start an assignment (at import time:
    /// the ERP does not say when a work started); a work that finished, or an order no longer
    /// running, ends it.
    func recordERPAssignments(_ orders: [ERPOrder], now: Timestamp) async throws {
        let changes = try await store.assignmentChanges().filter { $0.source == .erp }
        for o in orders {
            for w in o.works {
                for equipment in w.equipment {
                    let last = changes.filter { $0.equipment == equipment && $0.orderRef == o.number }.max { $0.at < $1.at }
                    let running = o.state == .running && Self.activeWorkStates.contains(w.state)
                    if running && last?.action != .start {
                        try await store.recordAssignmentChange(equipment: equipment, orderRef: o.number, operation: w.operation,
                                                               action: .start, at: now, source: .erp, now: now)
                    } else if !running && last?.action == .start {
                        try await store.recordAssignmentChange(equipment: equipment, orderRef: o.number, operation: w.operation,
                                                               action: .stop, at: now, source: .erp, now: now)
                    }
                }
            }
        }
    }
}
