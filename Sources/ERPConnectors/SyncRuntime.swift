import CentralIngest
import CentralSync
import Foundation
import Logging
import MillwrightCore
import MQTTClient
import ServiceLifecycle

/// Builds the central's synchronisation from its configuration: one connector per target, the
/// dispatcher, the reconcile service, the ERP import, the MES listener and planning snapshots.
/// `millwright-central run` and the tests build it the same way.
public struct SyncRuntime: Sendable {
    public let store: any SyncState
    public let pass: ReconcilePass
    public let dispatcher: PostingDispatcher
    public let reconcile: SyncService
    public let importer: MasterDataImportService?
    public let mes: MESListener?
    /// The MES's answers to order releases (`mes.answers`).
    public let answers: ReleaseAnswerListener?
    /// The MES's confirmations (`mes.confirmations`).
    public let confirmations: ConfirmationListener?
    /// Confirmations dropped as files (`mes.confirmation_folder`).
    public let confirmationFolder: ConfirmationFolderService?
    /// Inspection results for lots (`mes.inspections`).
    public let inspections: InspectionListener?
    public let planning: PlanningSnapshotService?
    public let tryton: TrytonClient?
    /// The lease on the singleton jobs, when this runtime is one of possibly several replicas
    /// (`holder` given); nil in tests that drive passes by hand.
    public let keeper: LeaseKeeper?
    /// Connectors holding a connection of their own (MQTT targets): services that disconnect on shutdown.
    public let connections: [any Service]

    public init(central: CentralConfiguration, sync: SyncConfiguration, state store: any SyncState, events: any IngestStore,
                holder: String? = nil, logger: Logger) throws {
        let keeper = holder.map { LeaseKeeper(leases: store, holder: $0, ttl: central.leaseTTL.duration, logger: logger) }
        self.keeper = keeper
        let pass = ReconcilePass(config: sync, store: store, events: events)
        self.store = store
        self.pass = pass
        var connectors: [String: any PostingConnector] = [:]
        var connections: [any Service] = []
        var tryton: TrytonClient?
        if let t = sync.tryton { tryton = TrytonClient(config: t, logger: logger) }
        self.tryton = tryton
        for (name, kind) in sync.targets {
            switch kind {
            case .tryton:
                if let tryton { connectors[name] = TrytonConnector(client: tryton, holdLocation: sync.tryton?.holdLocation, logger: logger) }
            case .http(let url, let template, let headers):
                connectors[name] = HTTPJSONConnector(url: url, template: template, headers: headers, timeout: sync.policy.timeout)
            case .mqtt(let topic, let template, let retain):
                var options = central.broker
                options.clientID += "-uns-\(name)"
                options.cleanStart = true
                let connector = try MQTTPublishConnector(options: options, topic: topic, template: template, retain: retain,
                                                         timeout: sync.policy.timeout, logger: logger)
                connectors[name] = connector
                connections.append(connector)
            case .folder(let path):
                connectors[name] = FolderConnector(path: path)
            }
        }
        self.connections = connections
        let dispatcher = PostingDispatcher(store: store, connectors: connectors, policy: sync.policy, logger: logger)
        self.dispatcher = dispatcher
        reconcile = SyncService(pass: pass, dispatcher: dispatcher, keeper: keeper, logger: logger)
        importer = tryton.map { MasterDataImportService(source: TrytonConnector(client: $0, logger: logger), store: store, config: sync, keeper: keeper, logger: logger) }
        mes = sync.mesTopic.map { MESListener(options: central.broker, topic: $0, store: store, logger: logger) }
        answers = sync.mesAnswersTopic.map { ReleaseAnswerListener(options: central.broker, topic: $0, store: store, logger: logger) }
        let book = ConfirmationBook(store: store, routes: sync.routes, logger: logger)
        confirmations = sync.mesConfirmationsTopic.map { ConfirmationListener(options: central.broker, topic: $0, book: book, logger: logger) }
        confirmationFolder = sync.confirmationFolder.map {
            ConfirmationFolderService(folder: $0, every: sync.confirmationFolderEvery, book: book, keeper: keeper, logger: logger)
        }
        let quality = QualityBook(store: store, routes: sync.routes, logger: logger)
        inspections = sync.mesInspectionsTopic.map { InspectionListener(options: central.broker, topic: $0, book: quality, logger: logger) }
        planning = sync.planningEvery.map { _ in
            PlanningSnapshotService(config: sync, pass: pass, connector: sync.planningTarget.flatMap { connectors[$0] }, keeper: keeper, logger: logger)
        }
    }

    /// The long-running parts, for the central's service group. A group shuts its services down in
    /// reverse order: the targets' connections come first, so they close after the dispatcher.
    public var services: [any Service] {
        var s: [any Service] = connections + [dispatcher, reconcile]
        if let keeper { s.append(keeper) }
        if let importer { s.append(importer) }
        if let mes { s.append(mes) }
        if let answers { s.append(answers) }
        if let confirmations { s.append(confirmations) }
        if let confirmationFolder { s.append(confirmationFolder) }
        if let inspections { s.append(inspections) }
        if let planning { s.append(planning) }
        return s
    }
}
