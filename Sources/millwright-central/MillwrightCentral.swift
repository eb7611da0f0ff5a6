import ArgumentParser
import CentralIngest
import CentralSync
import ConfigSupport
import ERPConnectors
import Foundation
import Logging
import MillwrightCore
import MQTTClient
import ServiceLifecycle

@main
struct MillwrightCentral: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "millwright-central",
        abstract: "Millwright central: ingest events from every plant edge, reconcile them with ERP orders, post to the ERP, MES and planning.",
        version: MillwrightVersion.current,
        subcommands: [Run.self, Status.self, CheckConfig.self, MigrateStore.self, Postings.self, Review.self, Ledger.self, MasterData.self, Assign.self, TraceCommand.self, Archive.self],
        defaultSubcommand: Run.self)
}

/// The configuration file a command reads: `--config`, else /etc/millwright/central.yaml (or
/// $MILLWRIGHT_CENTRAL_CONFIG) when it exists; otherwise exit 2 saying where it looked.
func configPath(_ explicit: String?) throws -> String {
    do { return try ConfigLocation.central.resolve(explicit) } catch {
        FileHandle.standardError.write(Data("\(error)\n".utf8))
        throw ExitCode(2)
    }
}

func loadConfig(_ explicit: String?) throws -> CentralConfiguration {
    let path = try configPath(explicit)
    do { return try CentralConfiguration.load(file: path) } catch {
        FileHandle.standardError.write(Data("\(error)\n".utf8))
        throw ExitCode(2)
    }
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the central until SIGTERM or SIGINT.")

    @Option(name: .shortAndLong, help: "The central configuration file (YAML); default /etc/millwright/central.yaml or $MILLWRIGHT_CENTRAL_CONFIG.")
    var config: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    func run() async throws {
        MQTTLibrary.initialize()
        let level = logLevel
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        let logger = Logger(label: "millwright-central")
        let cfg = try loadConfig(config)
        let syncConfig = try loadSyncConfig(config)
        for w in (cfg.warnings + syncConfig.warnings).sorted() { logger.warning("configuration: \(w)") }
        let stores = try await OpenedStores.open(cfg, logger: logger, create: true)
        if cfg.sharedSubscription != nil, cfg.broker.sessionExpiry > 0 {
            logger.warning("broker.session_expiry is above 0 with ingest.shared_subscription: a broker such as mosquitto keeps handing this replica's share of the batches to its session while it is away, and they wait until its edges resend them; leave session_expiry out (0s with a shared subscription) unless your broker redistributes a disconnected member's messages",
                           metadata: ["session_expiry_s": "\(cfg.broker.sessionExpiry)"])
        }
        let sync = syncConfig.isEnabled
            ? try SyncRuntime(central: cfg, sync: syncConfig, state: stores.sync, events: stores.ingest, holder: stores.holder, logger: logger)
            : nil
        // A replica gone (a clean stop, or its last will): a standby asks for the sync-jobs lease at once.
        let ingest = CentralIngestService(config: cfg, store: stores.ingest, logger: logger,
                                          onReplicaGone: { [keeper = sync?.keeper] _ in keeper?.nudge() })
        // Retention runs in the replica holding the singleton jobs' lease; without the
        // synchronisation, a keeper of its own takes the lease for it.
        let ownKeeper: LeaseKeeper? = sync == nil
            ? LeaseKeeper(leases: stores.sync, holder: stores.holder, ttl: cfg.leaseTTL.duration, logger: logger) : nil
        let state: any SyncState = stores.sync
        var needs: (any RetentionNeeds)?
        var feedCursor: (@Sendable () async throws -> FeedPosition)?
        if sync != nil {
            needs = state
            feedCursor = { try await state.cursor("event_postings") }
        }
        let job = RetentionJob(settings: cfg.retention, store: stores.retention, needs: needs, feedCursor: feedCursor, logger: logger)
        let retention = RetentionService(job: job, keeper: sync?.keeper ?? ownKeeper,
                                         firstDelay: .milliseconds(min(60_000, cfg.retention.every.value)), logger: logger)
        // The store's own services first: the group stops services in reverse order, so it ends last.
        var services: [any Service] = stores.services + [ingest]
        services += sync?.services ?? []
        if let ownKeeper { services.append(ownKeeper) }
        services.append(retention)
        logger.info("central ready", metadata: ["central": "\(cfg.central)", "store": "\(stores.ingest.location)",
                                                "broker": "\(cfg.broker.host):\(cfg.broker.port)",
                                                "sync": "\(syncConfig.isEnabled ? "targets \(syncConfig.targets.keys.sorted())" : "off")"])
        let group = ServiceGroup(configuration: .init(services: services.map { .init(service: $0) },
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        await stores.close()
        let s = ingest.stats
        logger.info("central stopped", metadata: ["events_stored": "\(s.eventsStored)", "duplicates": "\(s.duplicates)"])
    }
}

struct CheckConfig: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a central configuration file; with --erp, also resolve the equipment mapping against the ERP.")

    @Argument(help: "The central configuration file (YAML).")
    var file: String

    @Flag(help: "Also contact the ERP (erp.tryton) and resolve every mapped work center and consumed product code, as the central does at start-up.")
    var erp = false

    func run() async throws {
        let c = try loadConfig(file)
        let s = try loadSyncConfig(file)
        let backend: String
        switch c.store {
        case .sqlite: backend = "SQLite \((c.dataDir as NSString).appendingPathComponent("central.sqlite"))"
        case .postgresql(let pg): backend = pg.display
        }
        print("\(file): OK — central \(c.central), broker \(c.broker.host):\(c.broker.port), store \(backend); config_version \(c.version)")
        // Retention is on by default: say what it keeps, so nobody learns it from a deletion.
        let r = c.retention
        print("  retention: " + RetentionClass.allCases.map { cls in
            "\(cls.rawValue) \(r.retention(cls).map { "\($0)" } ?? "forever")"
        }.joined(separator: ", ") + ", every \(r.every)" + (r.archiveDir.map { ", archive \($0)" } ?? ", no archive"))
        // Usable, but worth fixing (an inline secret, plaintext allowed to a remote database): exit 0.
        for w in (c.warnings + s.warnings).sorted() { print("warning: \(w)") }
        if s.isEnabled {
            print("  sync: \(s.equipment.count) equipment mapped, targets \(s.targets.keys.sorted().joined(separator: ", ")), "
                  + "routes \(s.routes.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key)->\($0.value)" }.joined(separator: ", "))")
        }
        guard erp else { return }
        guard let tryton = s.tryton else {
            FileHandle.standardError.write(Data("\(file): --erp needs erp.tryton in the configuration\n".utf8))
            throw ExitCode(2)
        }
        var logger = Logger(label: "check-config")
        logger.logLevel = .error
        let source = TrytonConnector(client: TrytonClient(config: tryton, logger: logger), logger: logger)
        do {
            let resolution = try await MappingResolution.resolve(s, against: source)
            for (equipment, e) in resolution.entries.sorted(by: { $0.key < $1.key }) {
                print("  \(equipment) -> \(e.center.path) (work center id \(e.center.id)\(e.subtree.count > 1 ? ", and \(e.subtree.count - 1) below it" : ""))")
            }
        } catch let error as MasterDataError {
            FileHandle.standardError.write(Data("\(file): \(error)\n".utf8))
            throw ExitCode(1)
        } catch {
            FileHandle.standardError.write(Data("\(file): cannot reach the ERP at \(tryton.url): \(error)\n".utf8))
            throw ExitCode(3)
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
