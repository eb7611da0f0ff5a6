import ConfigSupport
import Foundation
import MillwrightCore
import MQTTClient

/// The central's configuration (YAML), validated with located errors like the edge's.
public struct CentralConfiguration: Sendable, Hashable {
    public var central: String
    public var dataDir: String
    public var broker: MQTTConnectionOptions
    /// MQTT 5 shared subscription group, so several central replicas split the edges' batches.
    public var sharedSubscription: String?
    /// Batches arriving within this window share one transaction.
    public var commitWindow = Millis(5)
    /// Larger batches are refused (and kept raw for operators).
    public var maxBatchBytes = 16 << 20
    public var version: String
    /// The database: SQLite under `data_dir` (default) or PostgreSQL (`store.backend`).
    public var store: StoreSettings = .sqlite
    /// How long a replica's lease on the singleton jobs lasts without renewal (`store.lease_ttl`).
    public var leaseTTL = Millis(15_000)
    /// How long stored events are kept, per class, and the archive before deletion (`retention`).
    public var retention = RetentionSettings()
    /// What the file does that works but should not (an inline secret, plaintext allowed to a remote
    /// database), located; `check-config` prints them and `run` logs them.
    public var warnings: [ConfigIssue] = []

    /// This replica's name in presence messages (`UplinkTopics.replicaPresence`): its broker client id,
    /// or the central's name when the client id is left to the broker.
    public var replicaID: String { broker.clientID.isEmpty ? central : broker.clientID }

    public static func load(file: String) throws(ConfigError) -> CentralConfiguration {
        try parse(yaml: try YAMLDocument.readText(file: file), file: file)
    }

    public static func parse(yaml: String, file: String = "<config>") throws(ConfigError) -> CentralConfiguration {
        let doc = try YAMLDocument(text: yaml, file: file, example: "central/examples/central.yaml")
        let log = doc.root.log
        let result = read(doc)
        if !log.issues.isEmpty { throw ConfigError(issues: log.issues.sorted()) }
        guard var result else { throw ConfigError(file: file, "the configuration is incomplete") }
        result.warnings = log.warnings.sorted()
        return result
    }

    /// Sections read by CentralSync's `SyncConfiguration` from the same file.
    public static let syncSections = ["erp", "equipment", "mes", "reconcile", "postings", "targets", "routes", "planning"]
    /// Sections read here.
    public static let ingestSections = ["central", "data_dir", "broker", "ingest", "store", "retention"]

    static func read(_ doc: YAMLDocument) -> CentralConfiguration? {
        guard let top = doc.root.fields(allowed: ingestSections + syncSections, required: ["central", "broker"]) else { return nil }
        let name = top["central"]?.string()
        if let name, !name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) {
            top["central"]?.issue("\"\(name)\" may hold only letters, digits, '-', '_' and '.'")
        }
        var broker: MQTTConnectionOptions?
        var sessionExpiryGiven = false
        if let b = top["broker"], let f = b.fields(allowed: MQTTOptionsReader.keys) {
            var o = MQTTOptionsReader(document: doc).read(f, node: b, defaultClientID: "millwright-central-\(name ?? "central")")
            if f["protocol"] == nil { o.protocolVersion = .v5 }
            sessionExpiryGiven = f["session_expiry"] != nil
            if !o.clientID.isEmpty, !UplinkTopics.isTopicLevel(o.clientID) {
                (f["client_id"] ?? b).issue("\"\(o.clientID)\" names this replica's presence topic and cannot contain '/', '+' or '#'")
            }
            broker = o
        }
        var shared: String?
        var window = Millis(5)
        var maxBytes = 16 << 20
        if let i = top["ingest"], let f = i.fields(allowed: ["shared_subscription", "commit_window", "max_batch_bytes"]) {
            shared = f["shared_subscription"]?.string()
            if let s = shared, s.contains("/") || s.contains("+") || s.contains("#") {
                f["shared_subscription"]?.issue("a share name cannot contain '/', '+' or '#'")
            }
            if shared != nil, broker?.protocolVersion != .v5 {
                f["shared_subscription"]?.issue("shared subscriptions need protocol \"5\" on the broker connection")
            }
            // Replicas share the batches: a session that outlives its connection would keep taking
            // its share while the replica is away (mosquitto hands a shared subscription's messages
            // to every member, connected or not), so by default the session ends with the connection.
            if shared != nil, !sessionExpiryGiven {
                broker?.sessionExpiry = 0
            }
            window = f["commit_window"]?.duration() ?? window
            maxBytes = f["max_batch_bytes"]?.int(in: 4096...(256 << 20)) ?? maxBytes
        }
        let (store, leaseTTL) = StoreSettings.read(top["store"], document: doc)
        let retention = RetentionSettings.read(top["retention"], document: doc)
        guard let name, let broker else { return nil }
        return CentralConfiguration(central: name, dataDir: doc.resolve(top["data_dir"]?.string() ?? "./var/\(name)"),
                                    broker: broker, sharedSubscription: shared, commitWindow: window, maxBatchBytes: maxBytes,
                                    version: doc.fingerprint, store: store, leaseTTL: leaseTTL ?? Millis(15_000), retention: retention)
    }
}
