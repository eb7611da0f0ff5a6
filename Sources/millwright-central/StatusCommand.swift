import ArgumentParser
import CentralIngest
import CentralSync
import Foundation
import Logging
import MillwrightCore

/// `millwright-central status`: the central as its store and its broker see it, as text or JSON,
/// with an exit status a monitor can act on.
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The central's health: replicas online, per edge last seen, last seq, events, duplicates, gaps; postings and targets.",
        discussion: """
            Exit status: 0 healthy; 1 the store cannot be read; 2 no configuration; 3 not running (no replica of this central \
            online on the central broker, the broker cannot be asked, or no store); 4 stale (a lease expired over 60 s ago \
            and no replica took it over); 5 unhealthy (dead-lettered postings, a target's breaker not closed, an edge offline). \
            With several, the first in that order.
            """)

    @Option(name: .shortAndLong, help: "The central configuration file (YAML); default /etc/millwright/central.yaml or $MILLWRIGHT_CENTRAL_CONFIG.")
    var config: String?

    @Flag(help: "Print the status as one JSON object (the exit status is the same).")
    var json = false

    func run() async throws {
        let cfg = try loadConfig(config)
        var logger = Logger(label: "millwright-central")
        logger.logLevel = .error
        let stores = try await OpenedStores.open(cfg, logger: logger, missingExit: StatusCondition.notRunning.rawValue)
        let syncConfig = try loadSyncConfig(config)
        let report = try await Self.gather(cfg, sync: syncConfig, stores: stores, logger: logger)
        await stores.close()
        if json {
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(Self.text(report), terminator: "")
        }
        if report.exitCode != 0 { throw ExitCode(report.exitCode) }
    }

    static func gather(_ cfg: CentralConfiguration, sync syncConfig: SyncConfiguration = SyncConfiguration(), stores: OpenedStores,
                       logger: Logger) async throws -> CentralStatusReport {
        let now = Timestamp.now()
        func age(_ t: Timestamp) -> Double { (now - t).seconds }
        let store = stores.ingest
        let sync = stores.sync
        let replicas = await Self.replicas(cfg, now: now, logger: logger)
        let edges = try await store.edges().map { e in
            CentralStatusReport.Edge(site: e.site, edge: e.edge, lastSeenAgeS: age(e.lastSeen), epoch: e.lastEpoch, lastSeq: e.lastSeq,
                                     events: e.events, duplicates: e.duplicates, gapRecords: e.gapEvents, droppedAtEdge: e.droppedReported,
                                     offline: Self.isLastWill(e.status))
        }
        let unassigned = Dictionary(grouping: try await sync.unassigned().map(\.span), by: \.equipment).sorted { $0.key < $1.key }.map { equipment, items in
            CentralStatusReport.Unassigned(equipment: equipment,
                                           quantities: Dictionary(grouping: items, by: \.what).mapValues { $0.map(\.quantity).reduce(0, +) },
                                           spans: items.count, since: items.map(\.from).min()?.rfc3339 ?? "")
        }
        let leases = try await sync.leases().map {
            CentralStatusReport.LeaseEntry(name: $0.name, holder: $0.holder, generation: $0.token,
                                           expiresInS: Double($0.expiresAt.milliseconds - now.milliseconds) / 1000)
        }
        let claims = try await sync.claims().map { CentralStatusReport.Claims(holder: $0.holder, active: $0.active, expired: $0.expired) }
        let allPostings = try await sync.postings()
        let postings = Dictionary(grouping: allPostings, by: \.status).reduce(into: [String: Int]()) { $0[$1.key.rawValue] = $1.value.count }
        let releases = syncConfig.routes[.orderRelease] == nil ? nil
            : ReleaseOverview.make(allPostings, answerWithin: syncConfig.answerWithin, now: now)
        // The machines' counts against the MES's confirmations (ended orders, beyond mes.tolerance).
        let ledger = syncConfig.postsCountedQuantities ? nil : try await ReconcilePass(config: syncConfig, store: sync, events: store).ledger(now: now)
        let discrepancies = ledger?.flatMap(\.discrepancies)
        let confirmations = ledger.map { ConfirmationOverview.make(allPostings, ledger: $0) }
        let targets = try await sync.targetHealth().map {
            CentralStatusReport.Target(target: $0.target, breaker: $0.breaker, failures: $0.failures,
                                       lastSuccessAgeS: $0.lastSuccess.map(age), lastError: $0.lastError)
        }
        let findings = CentralStatusReport.findings(replicas: replicas, edges: edges, leases: leases, postings: postings, releases: releases,
                                                    targets: targets)
        let storage = try await Self.storage(cfg, stores.retention, now: now)
        var warnings: [String] = []
        if let size = storage.volumeBytes, let used = storage.volumeUsedBytes, size > 0, Double(used) / Double(size) >= storage.volumeWarningAt {
            warnings.append(String(format: "the store's volume is %.0f%% full (warning at %.0f%%): shorten retention, archive, or grow the volume",
                                   Double(used) / Double(size) * 100, storage.volumeWarningAt * 100))
        }
        if let error = storage.lastRun?.error { warnings.append("the last retention run stopped early: \(error)") }
        if let discrepancies, !discrepancies.isEmpty {
            warnings.append("\(discrepancies.count) operation(s) where the machines' count and the MES's confirmation differ beyond mes.tolerance: `millwright-central ledger`")
        }
        return CentralStatusReport(
            central: cfg.central, version: MillwrightVersion.current, at: now.rfc3339, store: store.location,
            eventsStored: try await store.eventCount(), batchesRefused: try await store.rejectedByReason(), replicas: replicas,
            edges: edges, unassigned: unassigned, leases: leases, claims: claims, postings: postings, releases: releases,
            discrepancies: discrepancies, confirmations: confirmations,
            heldLots: syncConfig.mesInspectionsTopic == nil ? nil : HeldLot.make(allPostings), reviewItems: try await sync.reviewItems().count, targets: targets,
            storage: storage, findings: findings, warnings: warnings, exitCode: StatusFinding.exitCode(findings))
    }

    static func storage(_ cfg: CentralConfiguration, _ store: any RetentionStore, now: Timestamp) async throws -> CentralStatusReport.Storage {
        let settings = cfg.retention
        let fill = try await StoreFill.measure(store, settings: settings)
        let oldestByType = try await store.oldestEvents()
        var oldest: [String: String] = [:]
        for c in RetentionClass.allCases {
            if let t = c.types.compactMap({ oldestByType[$0.rawValue] }).min() { oldest[c.rawValue] = t.rfc3339 }
        }
        let last = try await store.lastRun()
        return .init(storeBytes: try await store.storeBytes(), volumeBytes: fill?.volumeBytes, volumeUsedBytes: fill?.usedBytes,
                     volumeWarningAt: settings.volumeWarning, oldest: oldest,
                     retentionDays: Dictionary(uniqueKeysWithValues: RetentionClass.allCases.map { c in
                         (c.rawValue, settings.retention(c).map { Double($0.value) / 86_400_000 })
                     }),
                     lastRun: last.map { .init(startedAt: $0.startedAt.rfc3339, finishedAt: $0.finishedAt.rfc3339, deleted: $0.deleted,
                                               archived: $0.archived, kept: $0.kept, error: $0.error) },
                     nextRunAfter: last.map { ($0.finishedAt + settings.every).rfc3339 },
                     holds: try await store.holds(now: now))
    }

    /// An edge's retained status is `{"state":"offline",...}` once the broker sent its last will.
    static func isLastWill(_ status: String?) -> Bool {
        guard let status, let object = try? JSONSerialization.jsonObject(with: Data(status.utf8)) as? [String: Any] else { return false }
        return object["state"] as? String == "offline"
    }

    /// The replicas of this central the central broker holds as online and as gone, from their presence.
    static func replicas(_ cfg: CentralConfiguration, now: Timestamp, logger: Logger) async -> CentralStatusReport.Replicas {
        let broker = "central broker \(cfg.broker.host):\(cfg.broker.port)"
        do {
            let r = try await ReplicaPresenceProbe.read(cfg.broker, timeout: .seconds(3), logger: logger)
            let mine = r.replicas.filter { $0.value.central == cfg.central }
            func entry(_ id: String) -> CentralStatusReport.Replica {
                let p = mine[id]
                return .init(id: id, sinceAgeS: p?.since.map { (now - $0).seconds }, reason: p?.state == .offline ? (p?.reason ?? .lost).rawValue : nil)
            }
            return .init(broker: broker, online: r.online.filter { mine[$0] != nil }.map(entry), gone: r.gone.filter { mine[$0] != nil }.map(entry))
        } catch {
            return .init(broker: broker, online: [], gone: [], error: "\(error)")
        }
    }

    static func text(_ r: CentralStatusReport) -> String {
        func ago(_ s: Double?) -> String { s.map { String(format: "%.0fs ago", $0) } ?? "time unknown" }
        var out = ""
        let refused = r.batchesRefused.values.reduce(0, +)
        let refusedText = r.batchesRefused.isEmpty ? "" : " (" + r.batchesRefused.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ") + ")"
        out += "central \(r.central): \(r.eventsStored) events stored, \(refused) batches refused\(refusedText)\n"
        out += "store \(r.store); millwright \(r.version)\n"
        if let error = r.replicas.error {
            out += "replicas: cannot ask the \(r.replicas.broker): \(error)\n"
        } else {
            let online = r.replicas.online.map { "\($0.id) (up since \(ago($0.sinceAgeS)))" }
            let gone = r.replicas.gone.map { $0.reason == "stopped" ? "\($0.id) (stopped \(ago($0.sinceAgeS)))" : "\($0.id) (lost: connection dropped without a stop)" }
            out += "replicas (\(r.replicas.broker)): \(online.count) online\(online.isEmpty ? "" : ": " + online.joined(separator: ", "))"
                + (gone.isEmpty ? "" : "; gone: " + gone.joined(separator: ", ")) + "\n"
        }
        for e in r.edges {
            out += "  \(e.site)/\(e.edge): last seen \(String(format: "%.0f", e.lastSeenAgeS))s ago\(e.offline ? " (OFFLINE)" : ""), epoch \(e.epoch), last seq \(e.lastSeq), "
                + "\(e.events) events, \(e.duplicates) duplicates, \(e.gapRecords) gap records (\(e.droppedAtEdge) dropped at the edge)\n"
        }
        if !r.unassigned.isEmpty {
            out += "unassigned production (no order covers these counts; see `review`, then `assign`):\n"
            for u in r.unassigned {
                out += "  \(u.equipment): " + u.quantities.sorted { $0.key < $1.key }.map { "\(qty($0.value)) \($0.key)" }.joined(separator: ", ")
                    + " in \(u.spans) span(s), since \(u.since)\n"
            }
        }
        for l in r.leases {
            out += "lease \(l.name): " + (l.expiresInS > 0
                ? "held by \(l.holder) (generation \(l.generation)), expires in \(String(format: "%.0f", l.expiresInS))s unless renewed"
                : "free (last held by \(l.holder), generation \(l.generation))") + "\n"
        }
        for c in r.claims {
            out += "posting claims of \(c.holder): \(c.active) being delivered"
                + (c.expired > 0 ? ", \(c.expired) expired (the replica stopped; the next claimant looks each change up at its target first)" : "") + "\n"
        }
        if !r.postings.isEmpty || !r.targets.isEmpty {
            out += "postings: " + Posting.Status.allCases.map { "\(r.postings[$0.rawValue] ?? 0) \($0.rawValue)" }.joined(separator: ", ")
                + "; review queue: \(r.reviewItems) item(s)\n"
            for t in r.targets {
                let fresh = t.lastSuccessAgeS.map { String(format: "last success %.0fs ago", $0) } ?? "never succeeded"
                out += "  target \(t.target): breaker \(t.breaker), \(t.failures) consecutive failures, \(fresh)"
                    + (t.failures > 0 ? "; last error: \(t.lastError ?? "-")" : "") + "\n"
            }
        }
        if let rel = r.releases {
            out += "order releases: " + Posting.Status.allCases.map { "\(rel.copies[$0.rawValue] ?? 0) \($0.rawValue)" }.joined(separator: ", ")
                + "; \(rel.awaitingAnswer) awaiting the MES's answer, \(rel.overdue.count) overdue" + (rel.unreadable > 0 ? ", \(rel.unreadable) unreadable" : "")
                + (rel.acceptedAfter.map { String(format: "; release to MES acceptance median %.0f s, max %.0f s", $0.medianS, $0.maxS) } ?? "") + "\n"
            for o in rel.overdue.prefix(10) {
                out += "  unanswered: \(o.orderNumber) on \(o.equipment), version \(o.version), delivered \(o.deliveredAt) (\(String(format: "%.0f", o.waitingS)) s ago), key \(o.key)\n"
            }
        }
        if let c = r.confirmations {
            let settled = c.successRate.map { String(format: "%.1f%% of settled delivered", $0 * 100) } ?? "none settled yet"
            let latency = c.latency.map { String(format: "; booked to ERP acknowledgement median %.1f s, max %.1f s", $0.medianS, $0.maxS) } ?? ""
            let rate = c.compared > 0 ? String(format: " (%.1f%%)", Double(c.discrepancies) / Double(c.compared) * 100) : ""
            out += "confirmations: \(c.confirmations) booked, postings " + Posting.Status.allCases.map { "\(c.postings[$0.rawValue] ?? 0) \($0.rawValue)" }.joined(separator: ", ")
                + "; \(settled)\(latency); \(c.compared) operation(s) of ended orders compared with the machines, \(c.discrepancies) discrepancy(ies)\(rate)\n"
            for x in (r.discrepancies ?? []).prefix(10) { out += "  discrepancy: \(x)\n" }
        }
        if let held = r.heldLots {
            out += "lots held by inspections: \(held.count)\n"
            for l in held.prefix(10) {
                out += "  held: \(l.lot) (\(l.product)) by inspection \(l.inspection) at \(l.at)\(l.note.map { ": \($0)" } ?? "")"
                    + (l.pending > 0 ? " (\(l.pending) later result(s) not delivered yet)" : "") + "\n"
            }
        }
        let st = r.storage
        var storeLine = "store size \(ByteSize.format(st.storeBytes))"
        if let size = st.volumeBytes, let used = st.volumeUsedBytes {
            storeLine += String(format: ", volume %@ of %@ used (%.0f%%; warning at %.0f%%)", ByteSize.format(used), ByteSize.format(size),
                                size > 0 ? Double(used) / Double(size) * 100 : 0, st.volumeWarningAt * 100)
        }
        out += storeLine + "\n"
        out += "retention: " + RetentionClass.allCases.map { c -> String in
            let keep = (st.retentionDays[c.rawValue] ?? nil).map { String(format: "%.0fd", $0) } ?? "forever"
            return "\(c.rawValue) \(keep) (oldest \(st.oldest[c.rawValue] ?? "none"))"
        }.joined(separator: ", ") + "\n"
        if let l = st.lastRun {
            out += "  last run \(l.finishedAt): deleted " + (l.deleted.isEmpty ? "nothing" : l.deleted.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))
                + ", archived \(l.archived), kept \(l.kept) still needed" + (l.error.map { "; STOPPED EARLY: \($0)" } ?? "")
                + "; next run after \(st.nextRunAfter ?? "-")\n"
        } else {
            out += "  no run yet (the first runs a minute after start-up, then every retention.every)\n"
        }
        for h in st.holds { out += "  hold: \(h.site) \(h.from.rfc3339) to \(h.to.rfc3339) until \(h.until.rfc3339) (\(h.reason))\n" }
        for w in r.warnings { out += "warning: \(w)\n" }
        out += StatusFinding.line(r.findings) + "\n"
        return out
    }
}
