import CentralIngest
import ConfigSupport
import Foundation
import MillwrightCore
import MQTTClient
import Reconciliation

/// The central's synchronisation settings: the ERP, the equipment mapping, the timing tiers, the
/// postings policy, the targets and where each kind of change goes. Read from the same YAML file
/// as the ingest settings, with the same located errors.
public struct SyncConfiguration: Sendable, Hashable {
    public struct Tryton: Sendable, Hashable {
        /// The server, like http://127.0.0.1:8000; JSON-RPC goes to `<url>/<database>/rpc/`.
        public var url: String
        public var database: String
        public var user: String
        public var password: String
        public var timeout: Millis
        /// The code of the Tryton location (outside every warehouse) a lot that failed an
        /// inspection is moved to (`erp.tryton.hold_location`); nil: no holds.
        public var holdLocation: String?
        public var rpcURL: String { (url.hasSuffix("/") ? url : url + "/") + database + "/rpc/" }
    }

    /// How plant equipment maps to the ERP, and which signals count toward what.
    public struct EquipmentMapping: Sendable, Hashable {
        public var workCenter: String
        /// The counter signal whose deltas are good parts.
        public var yieldSignal: String?
        public var scrapSignal: String?
        /// Counter signal -> consumed product code.
        public var consumption: [String: String]
        /// Limit signals whose alarms become quality holds.
        public var qualitySignals: Set<String>
    }

    public enum TargetKind: Sendable, Hashable {
        case tryton
        /// POST a JSON body rendered from `template` (`{{field}}` from the posting payload).
        case http(url: String, template: String?, headers: [String: String])
        /// Publish the payload (or the template) to a topic template on the central broker;
        /// retained when `retain` (the latest message per topic stays for subscribers that come later).
        case mqtt(topic: String, template: String?, retain: Bool)
        /// Write each posting as a JSON file into a folder (a drop folder for a file-based MES).
        case folder(path: String)
    }

    public struct Policy: Sendable, Hashable {
        public var maxAttempts = 6
        public var initialBackoff = Millis.seconds(2)
        public var maximumBackoff = Millis.seconds(300)
        public var breakerFailures = 5
        public var breakerOpenFor = Millis.seconds(30)
        public var timeout = Millis.seconds(10)

        public init() {}
    }

    public var tryton: Tryton?
    public var importEvery = Millis.seconds(60)
    public var equipment: [String: EquipmentMapping] = [:]
    /// The MQTT topic filter on the central broker where the MES publishes order starts and stops.
    public var mesTopic: String?
    /// The topic filter where an MES answers order releases (accepted or rejected, by key).
    public var mesAnswersTopic: String?
    /// The topic filter where an MES publishes its confirmations (yield, scrap, time per operation).
    /// When set, the MES is the source of record for yield and scrap: its figures are booked and the
    /// machines' counts are derived and shown but not posted.
    public var mesConfirmationsTopic: String?
    /// The topic filter where a lab or an MES publishes inspection results for lots: a failed one
    /// holds the lot in the ERP, a passed one releases it.
    public var mesInspectionsTopic: String?
    /// How far the machines' count for an order's operation may differ from the MES's confirmed
    /// figure (a fraction of the confirmed figure) before the difference is a discrepancy.
    public var confirmationTolerance = 0.05
    /// A folder a legacy MES drops confirmation files into (CSV or JSON), and how often it is looked at.
    public var confirmationFolder: String?
    public var confirmationFolderEvery = Millis.seconds(5)
    /// A release still unanswered this long after its delivery is overdue (`status` lists it).
    public var answerWithin = Millis.seconds(900)
    public var reconcileEvery = Millis.seconds(5)
    public var cadence = Cadence.every(.seconds(900))
    public var grace = Millis.seconds(120)
    public var skewTolerance = Millis.seconds(5)
    /// Events older than this are not reconciled any more (closed books).
    public var horizon = Millis.seconds(30 * 86400)
    public var policy = Policy()
    public var targets: [String: TargetKind] = [:]
    /// Posting kind -> target name.
    public var routes: [PostingKind: String] = [:]
    /// Limit severities (high, high_high, low, low_low) whose alarms are escalated.
    public var escalationSeverities: Set<String> = ["high_high", "low_low"]
    public var planningEvery: Millis?
    public var planningFolder: String?
    public var planningTarget: String?
    /// The sync sections' warnings (an inline secret), located; see `CentralConfiguration.warnings`.
    public var warnings: [ConfigIssue] = []

    public static let postingKinds = PostingKind.routable.map(\.rawValue)

    /// Nothing to synchronise: the central only ingests.
    public init() {}

    /// Any part of the synchronisation configured: an ERP, a route, an MES topic or planning snapshots.
    public var isEnabled: Bool {
        tryton != nil || !routes.isEmpty || mesTopic != nil || mesAnswersTopic != nil || mesConfirmationsTopic != nil || confirmationFolder != nil || mesInspectionsTopic != nil || planningEvery != nil
    }

    /// Whether the machines' yield and scrap counts are posted (not when the MES confirms them).
    public var postsCountedQuantities: Bool { mesConfirmationsTopic == nil && confirmationFolder == nil }

    public static func load(file: String) throws(ConfigError) -> SyncConfiguration {
        try parse(yaml: try YAMLDocument.readText(file: file), file: file)
    }

    public static func parse(yaml: String, file: String = "<config>") throws(ConfigError) -> SyncConfiguration {
        let doc = try YAMLDocument(text: yaml, file: file, example: "central/examples/central.yaml")
        var result = read(doc)
        if !doc.root.log.issues.isEmpty { throw ConfigError(issues: doc.root.log.issues.sorted()) }
        result.warnings = doc.root.log.warnings.sorted()
        return result
    }

    static func read(_ doc: YAMLDocument) -> SyncConfiguration {
        var c = SyncConfiguration()
        guard let top = doc.root.fields(allowed: topLevelKeys) else { return c }
        if let e = top["erp"], let f = e.fields(allowed: ["tryton", "import_every"]) {
            c.importEvery = f["import_every"]?.duration(positive: true) ?? c.importEvery
            if let t = f["tryton"], let tf = t.fields(allowed: ["url", "database", "user", "password", "password_file", "timeout", "hold_location"],
                                                     required: ["url", "database"]) {
                var password = tf["password"]?.string() ?? ""
                tf["password"]?.warn(ConfigNode.inlineSecretWarning("password_file"))
                if let pf = tf["password_file"], let path = pf.string() {
                    if let text = try? String(contentsOfFile: doc.resolve(path), encoding: .utf8) {
                        password = text.trimmingCharacters(in: .whitespacesAndNewlines)
                    } else {
                        pf.issue("cannot read the password file \(doc.resolve(path))")
                    }
                }
                let timeout = tf["timeout"]?.duration(positive: true) ?? .seconds(10)
                if let url = tf["url"]?.string(), let db = tf["database"]?.string() {
                    if !(url.hasPrefix("http://") || url.hasPrefix("https://")) { tf["url"]?.issue("expected an http:// or https:// URL, like http://127.0.0.1:8000") }
                    c.tryton = Tryton(url: url, database: db, user: tf["user"]?.string() ?? "admin", password: password, timeout: timeout,
                                      holdLocation: tf["hold_location"]?.string())
                    c.targets["tryton"] = .tryton
                    for kind in [PostingKind.yield, .scrap, .consumption, .workCycle, .inputLot, .lotQuality] { c.routes[kind] = "tryton" }
                }
            }
        }
        if let e = top["equipment"], let entries = e.entries() {
            for (name, node) in entries {
                guard let f = node.fields(allowed: ["work_center", "yield", "scrap", "consumption", "quality"], required: ["work_center"]) else { continue }
                var consumption: [String: String] = [:]
                if let cn = f["consumption"], let ce = cn.entries() {
                    for (signal, product) in ce { if let p = product.string() { consumption[signal] = p } }
                }
                let quality = Set(f["quality"]?.items()?.compactMap { $0.string() } ?? [])
                c.equipment[name] = EquipmentMapping(workCenter: f["work_center"]?.string() ?? "", yieldSignal: f["yield"]?.string(),
                                                     scrapSignal: f["scrap"]?.string(), consumption: consumption, qualitySignals: quality)
            }
        }
        var confirmationsNode: ConfigNode?
        var inspectionsNode: ConfigNode?
        if let m = top["mes"], let f = m.fields(allowed: ["topic", "answers", "answer_within", "confirmations", "tolerance", "confirmation_folder", "confirmation_folder_every", "inspections"]) {
            let inspections = f["inspections"]
            c.mesInspectionsTopic = inspections?.string()
            confirmationsNode = f["confirmations"]
            c.mesConfirmationsTopic = f["confirmations"]?.string()
            c.confirmationTolerance = f["tolerance"]?.percent() ?? c.confirmationTolerance
            if let folder = f["confirmation_folder"], let path = folder.string() {
                c.confirmationFolder = doc.resolve(path)
                confirmationsNode = confirmationsNode ?? folder
            }
            c.confirmationFolderEvery = f["confirmation_folder_every"]?.duration(positive: true) ?? c.confirmationFolderEvery
            c.mesTopic = f["topic"]?.string()
            c.mesAnswersTopic = f["answers"]?.string()
            c.answerWithin = f["answer_within"]?.duration(positive: true) ?? c.answerWithin
            if f["topic"] == nil && f["answers"] == nil && f["confirmations"] == nil && f["confirmation_folder"] == nil && inspections == nil {
                m.issue("give `topic` (order starts and stops), `answers` (answers to order releases), `confirmations` (yield, scrap and time), `inspections` (lot quality results), or several")
            }
            inspectionsNode = inspections
        }
        if let r = top["reconcile"], let f = r.fields(allowed: ["every", "declarations", "grace", "clock_skew_tolerance", "horizon", "escalate"]) {
            c.reconcileEvery = f["every"]?.duration(positive: true) ?? c.reconcileEvery
            c.grace = f["grace"]?.duration() ?? c.grace
            c.skewTolerance = f["clock_skew_tolerance"]?.duration() ?? c.skewTolerance
            c.horizon = f["horizon"]?.duration(positive: true) ?? c.horizon
            if let d = f["declarations"], let df = d.fields(allowed: ["every", "quantity"]) {
                switch (df["every"], df["quantity"]) {
                case (let every?, nil): if let m = every.duration(positive: true) { c.cadence = .every(m) }
                case (nil, let q?): if let v = q.double(min: 0, exclusiveMin: true) { c.cadence = .quantity(v) }
                default: d.issue("give exactly one timing tier: `every: 15m` (minutes of event time) or `quantity: 100` (units)")
                }
            }
            if let s = f["escalate"], let items = s.items() {
                let allowed = ["low", "low_low", "high", "high_high"]
                c.escalationSeverities = Set(items.compactMap { $0.oneOf(allowed) })
            }
        }
        // Counts are what the reconcile pass reads back, up to `horizon` old: retention must keep
        // them a day longer, or an open order's derived quantity would fall as its counts go.
        if let counts = top["retention"]?.fields(allowed: RetentionSettings.keys)?["counts"], counts.scalarText != "forever",
           let d = Millis(parsing: counts.scalarText ?? ""), d.value < c.horizon.value + Millis.days(1).value {
            counts.issue("must be at least a day longer than reconcile.horizon (\(c.horizon)), which the reconciliation reads back; got \(counts.scalarText ?? "")")
        }
        if let p = top["postings"], let f = p.fields(allowed: ["max_attempts", "backoff", "breaker", "timeout"]) {
            c.policy.maxAttempts = f["max_attempts"]?.int(in: 1...1000) ?? c.policy.maxAttempts
            c.policy.timeout = f["timeout"]?.duration(positive: true) ?? c.policy.timeout
            if let b = f["backoff"], let bf = b.fields(allowed: ["initial", "maximum"]) {
                c.policy.initialBackoff = bf["initial"]?.duration(positive: true) ?? c.policy.initialBackoff
                c.policy.maximumBackoff = bf["maximum"]?.duration(positive: true) ?? c.policy.maximumBackoff
            }
            if let b = f["breaker"], let bf = b.fields(allowed: ["failures", "open_for"]) {
                c.policy.breakerFailures = bf["failures"]?.int(in: 1...1000) ?? c.policy.breakerFailures
                c.policy.breakerOpenFor = bf["open_for"]?.duration(positive: true) ?? c.policy.breakerOpenFor
            }
        }
        if let t = top["targets"], let entries = t.entries() {
            for (name, node) in entries {
                guard let f = node.fields(allowed: ["kind", "url", "template", "headers", "topic", "path", "retain"], required: ["kind"]) else { continue }
                if let r = f["retain"], f["kind"]?.scalarText != "mqtt" { r.issue("`retain` applies to an mqtt target only") }
                switch f["kind"]?.oneOf(["http", "mqtt", "folder"]) {
                case "http":
                    guard let url = f["url"]?.string() else { node.issue("an http target needs `url`"); continue }
                    let headers = HeaderValues.read(f["headers"], document: doc)
                    c.targets[name] = .http(url: url, template: f["template"]?.string(), headers: headers)
                case "mqtt":
                    guard let topic = f["topic"]?.string() else { node.issue("an mqtt target needs `topic`, like plant/{site}/{equipment}/escalations"); continue }
                    c.targets[name] = .mqtt(topic: topic, template: f["template"]?.string(), retain: f["retain"]?.bool() ?? false)
                case "folder":
                    guard let path = f["path"]?.string() else { node.issue("a folder target needs `path`"); continue }
                    c.targets[name] = .folder(path: doc.resolve(path))
                default: continue
                }
            }
        }
        if let r = top["routes"], let entries = r.entries(allowed: postingKinds) {
            for (kind, node) in entries {
                guard let target = node.string(), let kind = PostingKind(rawValue: kind) else { continue }
                c.routes[kind] = target
            }
        }
        if let p = top["planning"], let f = p.fields(allowed: ["every", "folder", "target"], required: ["every"]) {
            c.planningEvery = f["every"]?.duration(positive: true)
            c.planningFolder = f["folder"]?.string().map(doc.resolve)
            c.planningTarget = f["target"]?.string()
            if c.planningFolder == nil && c.planningTarget == nil { p.issue("planning snapshots need a `folder`, a `target`, or both") }
        }
        // Cross-checks: every route names a defined target; a quantity route needs the ERP.
        for (kind, target) in c.routes.sorted(by: { $0.key.rawValue < $1.key.rawValue }) where c.targets[target] == nil {
            let node = top["routes"]?.fields(allowed: postingKinds)?[kind.rawValue] ?? doc.root
            node.issue("no target named \"\(target)\"; define it under `targets:`\(Suggest.hint(target, Array(c.targets.keys)))")
        }
        if let t = c.planningTarget, c.targets[t] == nil {
            top["planning"]?.issue("no target named \"\(t)\"; define it under `targets:`")
        }
        if c.routes[.orderRelease] != nil && (c.tryton == nil || c.equipment.isEmpty) {
            let node = top["routes"]?.fields(allowed: postingKinds)?[PostingKind.orderRelease.rawValue] ?? doc.root
            node.issue("order_release needs the ERP's orders (`erp: { tryton: ... }`) and mapped `equipment` (a release goes to the MES of each equipment an order's operations run on)")
        }
        if !c.postsCountedQuantities && c.tryton == nil {
            (confirmationsNode ?? doc.root).issue("confirmations are checked against the ERP's orders: add `erp: { tryton: ... }`")
        }
        if let node = inspectionsNode, c.mesInspectionsTopic != nil {
            if c.tryton == nil && c.routes[.lotQuality] == nil {
                node.issue("inspection results hold and release lots in the ERP: add `erp: { tryton: { ..., hold_location: <location code> } }`")
            } else if c.routes[.lotQuality] == "tryton", (c.tryton?.holdLocation ?? "").isEmpty {
                node.issue("a failed inspection holds its lot in a location outside the warehouse: set `erp: { tryton: { hold_location: <location code> } }`")
            }
            if c.postsCountedQuantities {
                node.warn("inspections are for lots the MES's confirmations booked; without `confirmations` or `confirmation_folder` every result is refused (unknown_lot)")
            }
        }
        if !c.equipment.isEmpty && c.tryton == nil && (c.routes[.yield] ?? c.routes[.scrap]) == nil {
            top["equipment"]?.issue("equipment is mapped but there is no ERP: add `erp: { tryton: ... }` or route yield/scrap to a target")
        }
        return c
    }

    /// The ingest's sections (read by `CentralConfiguration`) and ours: one file, one key list.
    public static let topLevelKeys = CentralConfiguration.ingestSections + CentralConfiguration.syncSections
}
