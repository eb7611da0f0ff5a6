import ArgumentParser
import CentralIngest
import CentralSQLite
import CentralSync
import Foundation
import Logging
import MillwrightCore
import Reconciliation

/// Opens the store and the sync configuration the way `run` does.
struct SyncContext {
    let central: CentralConfiguration
    let sync: SyncConfiguration
    let store: any SyncState
    let events: any IngestStore

    /// Opens the backend the configuration names (SQLite file or PostgreSQL), as `run` does.
    static func open(config: String?) async throws -> SyncContext {
        let central = try loadConfig(config)
        let sync = try loadSyncConfig(config)
        var logger = Logger(label: "millwright-central")
        logger.logLevel = .error
        let stores = try await OpenedStores.open(central, logger: logger)
        return SyncContext(central: central, sync: sync, store: stores.sync, events: stores.ingest)
    }

    var pass: ReconcilePass { ReconcilePass(config: sync, store: store, events: events) }
}

func loadSyncConfig(_ explicit: String?) throws -> SyncConfiguration {
    let path = try configPath(explicit)
    do { return try SyncConfiguration.load(file: path) } catch {
        FileHandle.standardError.write(Data("\(error)\n".utf8))
        throw ExitCode(2)
    }
}

func qty(_ v: Double) -> String { v == v.rounded() ? String(format: "%.0f", v) : String(format: "%.3f", v) }

struct Postings: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The postings outbox: list, show one with its audit trail, or replay a dead letter.",
        subcommands: [List.self, Show.self, Replay.self], defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List postings (all, or by --status pending|sent|acked|dead).")
        @Option(name: .shortAndLong, help: "The central configuration file (YAML); default /etc/millwright/central.yaml or $MILLWRIGHT_CENTRAL_CONFIG.") var config: String?
        @Option(help: "pending, sent, acked or dead.") var status: String?
        @Flag(help: "One JSON object per line.") var json = false

        func run() async throws {
            let ctx = try await SyncContext.open(config: config)
            var filter: Posting.Status?
            if let status {
                guard let s = Posting.Status(rawValue: status) else { throw ValidationError("--status must be one of pending, sent, acked, dead") }
                filter = s
            }
            let all = try await ctx.store.postings(status: filter, kind: nil)
            if json {
                let enc = JSONEncoder()
                enc.outputFormatting = .sortedKeys
                for p in all { print(String(decoding: try enc.encode(p), as: UTF8.self)) }
                return
            }
            let counts = Dictionary(grouping: try await ctx.store.postings(), by: \.status).mapValues(\.count)
            print("postings: " + Posting.Status.allCases.map { "\(counts[$0] ?? 0) \($0.rawValue)" }.joined(separator: ", "))
            for p in all {
                print("  #\(p.id) \(p.status.rawValue) \(p.kind) \(qty(p.quantity)) -> \(p.target) \(p.documentRef ?? "") attempts \(p.attempts)"
                      + (p.lastError.map { " last error: \($0)" } ?? ""))
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One posting: payload, sources and audit trail.")
        @Option(name: .shortAndLong, help: "The central configuration file (YAML); default /etc/millwright/central.yaml or $MILLWRIGHT_CENTRAL_CONFIG.") var config: String?
        @Argument(help: "The posting id.") var id: Int64

        func run() async throws {
            let ctx = try await SyncContext.open(config: config)
            guard let p = try await ctx.store.posting(id: id) else { throw ValidationError("no posting \(id)") }
            print("#\(p.id) \(p.status.rawValue) \(p.kind) -> \(p.target); key \(p.idempotencyKey); document \(p.documentRef ?? "-")")
            print("payload: \(p.payload)")
            print("events: \(p.sources.joined(separator: " "))")
            for a in try await ctx.store.audit(postingID: id) { print("  \(a.at.rfc3339) \(a.actor) \(a.action): \(a.detail)") }
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Put a dead (or stuck) posting back in the queue, optionally with an edited payload; audited. The idempotency key stays.")
        @Option(name: .shortAndLong, help: "The central configuration file (YAML); default /etc/millwright/central.yaml or $MILLWRIGHT_CENTRAL_CONFIG.") var config: String?
        @Argument(help: "The posting id.") var id: Int64
        @Option(help: "A file with the corrected JSON payload.") var payloadFile: String?
        @Option(help: "Free text recorded in the audit trail beside who ran the command (the OS user, always recorded), like a ticket number.")
        var note: String?

        func run() async throws {
            let ctx = try await SyncContext.open(config: config)
            let payload = try payloadFile.map { try String(contentsOfFile: $0, encoding: .utf8) }
            do {
                let p = try await ctx.store.replay(id: id, payload: payload, operator: OperatorIdentity.current(note: note), now: .now())
                print("posting #\(p.id) queued again (\(p.kind) -> \(p.target))\(payload == nil ? "" : " with the edited payload")")
            } catch let e as SyncStore.StoreError {
                FileHandle.standardError.write(Data("\(e)\n".utf8))
                throw ExitCode(1)
            } catch let refusal as PostingRefusal {
                FileHandle.standardError.write(Data("replay refused: \(refusal)\n".utf8))
                throw ExitCode(1)
            }
        }
    }
}

struct Review: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The review queue: quantities not posted (late data for closed orders, reductions), and counts no order covers.")
    @Option(name: .shortAndLong, help: "The central configuration file (YAML); default /etc/millwright/central.yaml or $MILLWRIGHT_CENTRAL_CONFIG.") var config: String?

    func run() async throws {
        let ctx = try await SyncContext.open(config: config)
        let items = try await ctx.store.reviewItems()
        print("review queue: \(items.count) item(s)")
        for r in items {
            print("  order \(r.orderID) \(r.kind) \(qty(r.quantity)) [\(r.line)]: \(r.reason) (since \(r.firstSeen.rfc3339), \(r.sources.count) events)")
        }
        let loose = try await ctx.store.unassigned()
        print("unassigned production: \(loose.count) item(s)")
        for item in loose {
            let u = item.span
            print("  \(u.equipment) \(u.what) \(qty(u.quantity)) counted \(u.from.rfc3339) .. \(u.to.rfc3339)"
                  + " (\(u.events.count) events; no order between \(u.after?.rfc3339 ?? "the start") and \(u.before?.rfc3339 ?? "now"); since \(item.firstSeen.rfc3339))")
            print("    assign: millwright-central assign\(config.map { " -c \($0)" } ?? "") --equipment \(u.equipment) --order ORDER --from \(u.from.rfc3339) --to \(u.to.rfc3339)")
        }
    }
}

struct Ledger: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Derived versus posted per order: the books balance when nothing is open.")
    @Option(name: .shortAndLong, help: "The central configuration file (YAML); default /etc/millwright/central.yaml or $MILLWRIGHT_CENTRAL_CONFIG.") var config: String?
    @Option(help: "Only this ERP order id.") var order: Int64?
    @Flag(help: "One JSON object per line.") var json = false

    func run() async throws {
        let ctx = try await SyncContext.open(config: config)
        let entries = try await ctx.pass.ledger().filter { order == nil || $0.orderID == order }
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = .sortedKeys
            for e in entries { print(String(decoding: try enc.encode(e), as: UTF8.self)) }
            return
        }
        let orders = try await ctx.store.orders()
        for e in entries {
            let name = orders[e.orderID].map { "\($0.number) (\($0.state))" } ?? "order \(e.orderID)"
            let mes = ctx.sync.postsCountedQuantities || e.kind == "consumption" ? "" : ", confirmed by the MES \(qty(e.confirmed))"
            print("\(name) \(e.kind)\(e.material.isEmpty ? "" : " \(e.material)"): derived \(qty(e.derived)), posted \(qty(e.posted)), "
                  + "in flight \(qty(e.inFlight)), in review \(qty(e.inReview)), open \(qty(e.open))\(mes)")
            for d in e.discrepancies { print("  discrepancy: \(d)") }
        }
        if order == nil {
            // Counted but owed to no order yet: part of the plant's output all the same.
            for u in try await ctx.store.unassigned().map(\.span) {
                print("unassigned \(u.equipment) \(u.what): derived \(qty(u.quantity)), "
                      + "no order (\(u.from.rfc3339) .. \(u.to.rfc3339))")
            }
        }
    }
}

struct TraceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace", abstract: "Back from an ERP document (stock.move:42) to its events and edges, forward from an event (edge:epoch:seq), or a lot's genealogy both ways.")
    @Option(name: .shortAndLong, help: "The central configuration file (YAML); default /etc/millwright/central.yaml or $MILLWRIGHT_CENTRAL_CONFIG.") var config: String?
    @Option(help: "An ERP document reference, like stock.move:42.") var document: String?
    @Option(help: "An event key, edge:boot_epoch:seq.") var event: String?
    @Option(help: "A lot number an MES confirmed: the orders that made it (their input lots, machines, events, alarms) and the orders that consumed it (their output lots).") var lot: String?
    @Flag(help: "With --lot: the genealogy as one JSON object.") var json = false

    func run() async throws {
        let ctx = try await SyncContext.open(config: config)
        let trace = Trace(store: ctx.store, events: ctx.events)
        if let lot {
            let r = try await LotTrace(config: ctx.sync, store: ctx.store, events: ctx.events).trace(lot: lot)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
                encoder.keyEncodingStrategy = .convertToSnakeCase
                print(String(decoding: try encoder.encode(r), as: UTF8.self))
            } else {
                Self.show(r)
            }
            if r.isEmpty { throw ExitCode(3) }
        } else if let document {
            let b = try await trace.back(document: document)
            guard !b.postings.isEmpty else { throw ValidationError("no posting produced \(document)") }
            for p in b.postings { print("\(document) <- posting #\(p.id) \(p.kind) \(qty(p.quantity)) [\(p.line)] key \(p.idempotencyKey)") }
            for e in b.events { print("  <- event \(e.key) \(e.type.rawValue) \(e.equipment)/\(e.signal) at \(e.occurredAt) (received \(e.centralReceivedAt))") }
            if !b.missing.isEmpty {
                // Deleted by retention: the archive holds them (retention.archive), by site and day.
                print("  <- \(b.missing.count) event(s) no longer in the store (retention): \(b.missing.prefix(5).joined(separator: ", "))\(b.missing.count > 5 ? ", ..." : "")")
                print("     put them back with `millwright-central archive load -c CONFIG FILE...`"
                      + (ctx.central.retention.archiveDir.map { " (files \($0)/<site>/<yyyy-mm-dd>.jsonl.gz, by the events' day)" } ?? " (no retention.archive is set: they were not archived)"))
            }
            print("  <- edges: \(b.edges.joined(separator: ", "))")
        } else if let event, let key = EventKey(parsing: event) {
            let f = try await trace.forward(event: key)
            if let e = f.event { print("event \(e.key) \(e.type.rawValue) \(e.equipment)/\(e.signal) at \(e.occurredAt)") } else {
                print("event \(event): not stored (never received, or deleted by retention: `archive load` puts an archived day back)")
            }
            for p in f.postings { print("  -> posting #\(p.id) \(p.kind) \(qty(p.quantity)) \(p.status.rawValue) -> \(p.documentRef ?? "not yet delivered")") }
            for r in f.review { print("  -> review: order \(r.orderID) \(r.kind) \(qty(r.quantity)): \(r.reason)") }
        } else {
            throw ValidationError("give --document REF, --event edge:epoch:seq or --lot NUMBER")
        }
    }

    static func show(_ r: LotTrace.Result) {
        guard !r.isEmpty else {
            print("lot \(r.lot): no MES confirmation named it (as an output lot or a consumed lot)")
            return
        }
        func lines(_ l: [LotTrace.LotLine]) -> String {
            l.map { "\($0.lot) (\($0.product) \(qty($0.quantity)) \($0.kind), confirmation \($0.confirmation), \($0.document ?? $0.status.rawValue))" }
                .joined(separator: "\n      ")
        }
        for p in r.madeBy {
            print("lot \(r.lot) <- made by order \(p.order)")
            print("  <- input lots: \(p.inputs.isEmpty ? "none confirmed" : "\n      " + lines(p.inputs))")
            print("  <- machines: \(p.machines.isEmpty ? "none assigned" : p.machines.map { "\($0.equipment) \($0.from) to \($0.to ?? "now")" }.joined(separator: ", "))")
            print("  <- events during the runs: \(p.eventCount)\(p.eventCount > p.events.count ? " (\(p.events.count) listed in --json)" : ""), alarms: \(p.alarms.count)")
            for a in p.alarms.prefix(20) { print("      alarm \(a.key) \(a.type) \(a.equipment)/\(a.signal) at \(a.at)") }
            print("  -> all output lots of the order: \n      " + lines(p.outputs))
        }
        for q in r.quality {
            print("lot \(r.lot) quality: inspection \(q.inspection) \(q.result) at \(q.at) by \(q.by)\(q.note.map { " (\($0))" } ?? ""): \(q.status.rawValue)\(q.document.map { " \($0)" } ?? "")")
        }
        // The latest delivered result decides (a later one not delivered yet is said beside it).
        if let last = r.quality.last(where: { $0.status.isDelivered }) {
            let waiting = r.quality.filter { !$0.status.isDelivered }.count
            print("lot \(r.lot) is \(last.result == "fail" ? "HELD" : "released") by the latest inspection delivered (\(last.inspection))"
                  + (waiting > 0 ? "; \(waiting) result(s) not delivered" : ""))
        }
        for p in r.usedBy {
            print("lot \(r.lot) -> consumed by order \(p.order)")
            print("  -> output lots: \(p.outputs.isEmpty ? "none confirmed yet" : "\n      " + lines(p.outputs))")
        }
    }
}
