import ArgumentParser
import CentralIngest
import CentralSync
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
        subcommands: [Run.self, Status.self, CheckConfig.self, MigrateStore.self, Postings.self, Review.self, Ledger.self, MasterData.self, Assign.self, TraceCommand.self],
        defaultSubcommand: Run.self)
}

func loadConfig(_ path: String?) throws -> CentralConfiguration {
    guard let path else { return CentralConfiguration.embeddedDefault }
    do { return try CentralConfiguration.load(file: path) } catch {
        FileHandle.standardError.write(Data("\(error)\n".utf8))
        throw ExitCode(2)
    }
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the central until SIGTERM or SIGINT.")

    @Option(name: .shortAndLong, help: "The central configuration file (YAML); without it: SQLite in ./var/central, broker 127.0.0.1:1884.")
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
        let stores = try await OpenedStores.open(cfg, logger: logger)
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
        let services: [any Service] = [ingest] + (sync?.services ?? [])
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

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Per edge: last seen, last seq, events, duplicates, gaps, status.")

    @Option(name: .shortAndLong, help: "The central configuration file (YAML); without it, the embedded default.")
    var config: String?

    func run() async throws {
        let cfg = try loadConfig(config)
        var logger = Logger(label: "millwright-central")
        logger.logLevel = .error
        let stores = try await OpenedStores.open(cfg, logger: logger)
        let store = stores.ingest
        let now = Timestamp.now()
        let refused = try await store.rejectedByReason()
        let refusedText = refused.isEmpty ? "" : " (" + refused.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ") + ")"
        print("central \(cfg.central): \(try await store.eventCount()) events stored, \(refused.values.reduce(0, +)) batches refused\(refusedText)")
        print(await replicasLine(cfg, now: now, logger: logger))
        for e in try await store.edges() {
            let age = (now - e.lastSeen).seconds
            print("  \(e.site)/\(e.edge): last seen \(String(format: "%.0f", age))s ago, epoch \(e.lastEpoch), last seq \(e.lastSeq), "
                  + "\(e.events) events, \(e.duplicates) duplicates, \(e.gapEvents) gap records (\(e.droppedReported) dropped at the edge)")
        }
        let sync = stores.sync
        let postings = try await sync.postings()
        let health = try await sync.targetHealth()
        let unassigned = try await sync.unassigned().map(\.span)
        if !unassigned.isEmpty {
            print("unassigned production (no order covers these counts; see `review`, then `assign`):")
            for (equipment, items) in Dictionary(grouping: unassigned, by: \.equipment).sorted(by: { $0.key < $1.key }) {
                let byKind = Dictionary(grouping: items, by: \.what)
                    .mapValues { $0.map(\.quantity).reduce(0, +) }.sorted { $0.key < $1.key }
                print("  \(equipment): " + byKind.map { "\(qty($0.value)) \($0.key)" }.joined(separator: ", ")
                      + " in \(items.count) span(s), since \(items.map(\.from).min()!.rfc3339)")
            }
        }
        for lease in try await sync.leases() {
            let left = lease.expiresAt.milliseconds - now.milliseconds
            print("lease \(lease.name): " + (left > 0 ? "held by \(lease.holder) (generation \(lease.token)), expires in \(String(format: "%.0f", Double(left) / 1000))s unless renewed"
                                                     : "free (last held by \(lease.holder), generation \(lease.token))"))
        }
        for c in try await sync.claims() {
            print("posting claims of \(c.holder): \(c.active) being delivered"
                  + (c.expired > 0 ? ", \(c.expired) expired (the replica stopped; the next claimant looks each change up at its target first)" : ""))
        }
        guard !postings.isEmpty || !health.isEmpty else { return }
        let counts = Dictionary(grouping: postings, by: \.status).mapValues(\.count)
        print("postings: " + Posting.Status.allCases.map { "\(counts[$0] ?? 0) \($0.rawValue)" }.joined(separator: ", ")
              + "; review queue: \(try await sync.reviewItems().count) item(s)")
        for t in health {
            let fresh = t.lastSuccess.map { String(format: "last success %.0fs ago", (now - $0).seconds) } ?? "never succeeded"
            print("  target \(t.target): breaker \(t.breaker), \(t.failures) consecutive failures, \(fresh)"
                  + (t.failures > 0 ? "; last error: \(t.lastError ?? "-")" : ""))
        }
    }
}

/// The replicas the central broker sees online and those it holds as gone, from their presence.
func replicasLine(_ cfg: CentralConfiguration, now: Timestamp, logger: Logger) async -> String {
    let broker = "central broker \(cfg.broker.host):\(cfg.broker.port)"
    do {
        let r = try await ReplicaPresenceProbe.read(cfg.broker, timeout: .seconds(3), logger: logger)
        func age(_ t: Timestamp?) -> String { t.map { String(format: "%.0fs ago", (now - $0).seconds) } ?? "time unknown" }
        let online = r.online.map { "\($0) (up since \(age(r.replicas[$0]?.since)))" }
        let gone = r.gone.map { id -> String in
            let p = r.replicas[id]
            return p?.reason == .stopped ? "\(id) (stopped \(age(p?.since)))" : "\(id) (lost: connection dropped without a stop)"
        }
        if r.replicas.isEmpty {
            return "replicas (\(broker)): none has announced itself (a central of release 1 announces only the service: \(r.service?.rawValue ?? "no message"))"
        }
        return "replicas (\(broker)): \(online.count) online\(online.isEmpty ? "" : ": " + online.joined(separator: ", "))"
            + (gone.isEmpty ? "" : "; gone: " + gone.joined(separator: ", "))
    } catch {
        return "replicas: cannot ask the \(broker): \(error)"
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
        // Usable, but worth fixing (an inline secret, plaintext allowed to a remote database): exit 0.
        for w in (c.warnings + s.warnings).sorted() { print("warning: \(w)") }
        if s.isEnabled {
            print("  sync: \(s.equipment.count) equipment mapped, targets \(s.targets.keys.sorted().joined(separator: ", ")), "
                  + "routes \(s.routes.sorted { $0.key < $1.key }.map { "\($0.key)->\($0.value)" }.joined(separator: ", "))")
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
