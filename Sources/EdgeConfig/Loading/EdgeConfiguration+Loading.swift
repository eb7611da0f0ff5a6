import ConfigSupport
import EdgeRules
import Foundation
import MillwrightCore
import MQTTClient
import Yams

extension EdgeConfiguration {
    /// Reads and validates a configuration file; the error lists every issue with file, line and column.
    public static func load(file: String) throws(ConfigError) -> EdgeConfiguration {
        try parse(yaml: try YAMLDocument.readText(file: file), file: file)
    }

    /// Validates configuration text. `file` names it in error messages; relative paths resolve beside it.
    public static func parse(yaml: String, file: String = "<config>") throws(ConfigError) -> EdgeConfiguration {
        let doc = try YAMLDocument(text: yaml, file: file, example: "edge/examples/demo.yaml")
        let log = doc.root.log
        let reader = ConfigReader(root: doc.root, document: doc)
        let config = reader.read()
        if !log.issues.isEmpty { throw ConfigError(issues: log.issues.sorted()) }
        guard var config else { throw ConfigError(file: file, "the configuration is incomplete") }
        config.warnings = log.warnings.sorted()
        return config
    }
}

/// One pass over the document, building the typed configuration and logging issues.
struct ConfigReader {
    let root: ConfigNode
    let document: YAMLDocument

    static let topKeys = ["site", "edge", "data_dir", "brokers", "ingest", "templates", "sensors", "uplink", "outbox"]
    static let uplinkKeys = ["batch_events", "batch_bytes", "ack_timeout", "max_inflight_batches", "window",
                             "target_ack_latency", "drain_events_per_s", "drain_bytes_per_s", "historical_after",
                             "status_interval"]
    static let sensorKeys = ["name", "broker", "topic", "qos", "equipment", "signal", "decode", "template", "rules", "overrides"]

    func read() -> EdgeConfiguration? {
        guard let top = root.fields(allowed: Self.topKeys, required: ["site", "edge", "brokers", "sensors"]) else { return nil }
        let site = top["site"]?.string().map { validName($0, top["site"]!) }
        let edge = top["edge"]?.string().map { validName($0, top["edge"]!) }
        let dataDir = top["data_dir"]?.string() ?? "./var/\(edge ?? "edge")"
        let brokers = top["brokers"].map { readBrokers($0, edge: edge ?? "edge") } ?? []
        let ingest = top["ingest"].map(readIngest) ?? IngestSettings()
        let templates = top["templates"].map(readTemplates) ?? [:]
        var sensors: [SensorConfig] = []
        if let list = top["sensors"]?.items() {
            if list.isEmpty { top["sensors"]?.issue("list at least one sensor") }
            var names = Set<String>()
            for node in list {
                guard let s = readSensor(node, brokers: brokers, templates: templates, names: &names) else { continue }
                sensors.append(s)
            }
        }
        let uplink = top["uplink"].flatMap { readUplink($0, edge: edge ?? "edge") }
        let outbox = top["outbox"].map(readOutbox) ?? OutboxConfig()
        guard let site, let edge else { return nil }
        return EdgeConfiguration(site: site, edge: edge, dataDir: resolve(dataDir), brokers: brokers, ingest: ingest,
                                 sensors: sensors, uplink: uplink, outbox: outbox, version: document.fingerprint)
    }

    /// Site and edge names go into topics and keys: keep them to safe characters.
    func validName(_ s: String, _ node: ConfigNode) -> String {
        if !s.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) || s.contains("/") {
            node.issue("\"\(s)\" may hold only letters, digits, '-', '_' and '.' (it becomes part of MQTT topics)")
        }
        return s
    }

    func resolve(_ path: String) -> String { document.resolve(path) }

    // MARK: brokers

    func readBrokers(_ node: ConfigNode, edge: String) -> [BrokerConfig] {
        guard let entries = node.entries() else { return [] }
        if entries.isEmpty { node.issue("define at least one broker") }
        return entries.compactMap { name, b in readBroker(name, b, edge: edge) }
    }

    func readBroker(_ name: String, _ node: ConfigNode, edge: String) -> BrokerConfig? {
        guard let f = node.fields(allowed: MQTTOptionsReader.keys) else { return nil }
        let options = MQTTOptionsReader(document: document).read(f, node: node, defaultClientID: "millwright-\(edge)-\(name)")
        return BrokerConfig(name: name, options: options)
    }

    // MARK: uplink and outbox

    func readUplink(_ node: ConfigNode, edge: String) -> UplinkConfig? {
        guard let f = node.fields(allowed: MQTTOptionsReader.keys + Self.uplinkKeys) else { return nil }
        var u = UplinkConfig(options: MQTTOptionsReader(document: document).read(f, node: node, defaultClientID: "millwright-\(edge)-uplink"))
        if let v = f["batch_events"]?.int(in: 1...100_000) { u.batchEvents = v }
        if let v = f["batch_bytes"]?.int(in: 1024...(64 << 20)) { u.batchBytes = v }
        if let v = f["ack_timeout"]?.duration(positive: true) { u.ackTimeout = v }
        if let v = f["max_inflight_batches"]?.int(in: 1...1000) { u.maxInflightBatches = v }
        if let v = f["window"]?.oneOf(UplinkConfig.WindowMode.allCases.map(\.rawValue)).flatMap(UplinkConfig.WindowMode.init) {
            u.window = v
        }
        if let node = f["target_ack_latency"], let v = node.duration(positive: true) {
            // At or past ack_timeout the window would only shrink through timeouts and resends.
            if v.value >= u.ackTimeout.value {
                node.issue("must be shorter than ack_timeout (\(u.ackTimeout)), got \(v): a window kept that full would time out and resend")
            } else {
                u.targetAckLatency = v
            }
        }
        // Between 0 (unlimited) and one event, or one small event's bytes, the bucket never fills
        // enough to send: the uplink would hold the backlog forever.
        if let node = f["drain_events_per_s"], let v = node.double(min: 0) {
            if v > 0 && v < 1 {
                node.issue("must be 0 (unlimited) or at least 1, got \(Value.number(v)): below 1 event per second the uplink never sends")
            } else {
                u.drainEventsPerSecond = v
            }
        }
        if let node = f["drain_bytes_per_s"], let v = node.double(min: 0) {
            if v > 0 && v < 512 {
                node.issue("must be 0 (unlimited) or at least 512, got \(Value.number(v)): below 512 bytes per second the uplink never sends")
            } else {
                u.drainBytesPerSecond = v
            }
        }
        if let v = f["historical_after"]?.duration() { u.historicalAfter = v }
        if let v = f["status_interval"]?.duration(positive: true) { u.statusInterval = v }
        return u
    }

    func readOutbox(_ node: ConfigNode) -> OutboxConfig {
        var o = OutboxConfig()
        guard let f = node.fields(allowed: ["max_events", "max_bytes", "ttl", "synchronous"]) else { return o }
        if let v = f["max_events"]?.int(in: 10...1_000_000_000) { o.maxEvents = v }
        if let v = f["max_bytes"]?.int(in: 65_536...(1 << 50)) { o.maxBytes = v }
        if let v = f["synchronous"]?.oneOf(["full", "normal"]) { o.synchronousFull = v == "full" }
        for (key, value) in f["ttl"]?.entries(allowed: PriorityClass.allCases.map(\.rawValue)) ?? [] {
            if let cls = PriorityClass(rawValue: key), let d = value.duration(positive: true) { o.ttl[cls] = d }
        }
        return o
    }

    // MARK: ingest

    func readIngest(_ node: ConfigNode) -> IngestSettings {
        var s = IngestSettings()
        guard let f = node.fields(allowed: ["max_payload_bytes", "max_future_skew", "max_past_age", "on_clock_skew",
                                            "quarantine_keep", "tick_interval", "checkpoint_interval", "status_interval",
                                            "watch_interval"]) else { return s }
        if let v = f["max_payload_bytes"]?.int(in: 16...(256 * 1024 * 1024)) { s.maxPayloadBytes = v }
        if let v = f["max_future_skew"]?.duration() { s.maxFutureSkew = v }
        if let v = f["max_past_age"]?.duration(positive: true) { s.maxPastAge = v }
        if let v = f["on_clock_skew"]?.oneOf(IngestSettings.ClockSkewPolicy.allCases.map(\.rawValue)) {
            s.onClockSkew = IngestSettings.ClockSkewPolicy(rawValue: v)!
        }
        if let v = f["quarantine_keep"]?.int(in: 0...1_000_000) { s.quarantineKeep = v }
        if let v = f["tick_interval"]?.duration(positive: true) { s.tickInterval = v }
        if let v = f["checkpoint_interval"]?.duration(positive: true) { s.checkpointInterval = v }
        if let v = f["status_interval"]?.duration(positive: true) { s.statusInterval = v }
        if let v = f["watch_interval"]?.duration() { s.watchInterval = v }
        return s
    }

    // MARK: templates and sensors

    typealias RuleFields = [RuleKind: [String: ConfigNode]]

    /// Templates stay as YAML fields so that a sensor's overrides merge key by key and
    /// every error still points at the line it came from.
    func readTemplates(_ node: ConfigNode) -> [String: (RuleFields, ConfigNode)] {
        var out: [String: (RuleFields, ConfigNode)] = [:]
        for (name, t) in node.entries() ?? [] {
            out[name] = (ruleFields(t, base: [:]), t)
        }
        return out
    }

    /// Merges a `rules:`-style mapping over `base`; `kind: false` removes a rule.
    func ruleFields(_ node: ConfigNode, base: RuleFields) -> RuleFields {
        var merged = base
        let kinds = RuleKind.allCases.map(\.rawValue)
        for (key, value) in node.entries(allowed: kinds) ?? [] {
            guard let kind = RuleKind(rawValue: key) else { continue }
            if value.scalarText != nil {
                if value.bool() == false { merged[kind] = nil }
                continue
            }
            var fields = merged[kind] ?? [:]
            for (k, v) in value.entries() ?? [] { fields[k] = v }
            merged[kind] = fields
        }
        return merged
    }

    func specs(_ fields: RuleFields, anchor: ConfigNode) -> [RuleSpec] {
        RuleKind.allCases.compactMap { kind in
            fields[kind].flatMap { RuleParser.parse(kind, $0, anchor: anchor) }
        }
    }

    /// `names` holds the names seen so far; a repeated one is reported even if this sensor has other mistakes.
    func readSensor(_ node: ConfigNode, brokers: [BrokerConfig], templates: [String: (RuleFields, ConfigNode)],
                    names: inout Set<String>) -> SensorConfig? {
        guard let f = node.fields(allowed: Self.sensorKeys, required: ["name", "topic", "decode"]) else { return nil }
        let name = f["name"]?.string()
        if let name, !names.insert(name).inserted { node.issue("sensor name \"\(name)\" is used twice; names must be unique") }
        var pattern: TopicPattern?
        if let t = f["topic"], let text = t.string() {
            do { pattern = try TopicPattern(text) } catch { t.issue("\(error)") }
        }
        let captures = pattern?.captureNames ?? []
        func template(_ key: String, default def: String?) -> CaptureTemplate? {
            let n = f[key]
            guard let text = n?.string() ?? def else {
                node.issue("set \(key): (a name, or a {capture} from the topic)")
                return nil
            }
            let t = CaptureTemplate(text)
            for p in t.placeholders where !captures.contains(p) {
                (n ?? node).issue("{\(p)} is not captured by the topic pattern; captures: \(captures.isEmpty ? "none" : captures.map { "{\($0)}" }.joined(separator: ", "))")
            }
            return t
        }
        let equipment = template("equipment", default: captures.contains("equipment") ? "{equipment}" : nil)
        let signal = template("signal", default: captures.contains("signal") ? "{signal}" : name)

        var brokerName = brokers.first?.name ?? ""
        if let b = f["broker"], let n = b.string() {
            if !brokers.contains(where: { $0.name == n }) {
                b.issue("no broker named \"\(n)\"\(Suggest.hint(n, brokers.map(\.name))); brokers: \(brokers.map(\.name).joined(separator: ", "))")
            }
            brokerName = n
        } else if brokers.count > 1 {
            node.issue("there are \(brokers.count) brokers: say which one with broker:")
        }
        let qos = f["qos"]?.int(in: 0...2) ?? 1
        let decode = f["decode"].flatMap(readDecode)

        var base: RuleFields = [:]
        var anchor = f["rules"] ?? node
        if let tn = f["template"], let tname = tn.string() {
            if let (fields, tnode) = templates[tname] {
                base = fields
                anchor = f["rules"] ?? tnode
            } else {
                tn.issue("no template named \"\(tname)\"\(Suggest.hint(tname, Array(templates.keys))); templates: \(templates.keys.sorted().joined(separator: ", "))")
            }
        }
        let sensorFields = f["rules"].map { ruleFields($0, base: base) } ?? base
        if sensorFields.isEmpty && f["template"] == nil { node.issue("give the sensor rules: or a template:") }
        let rules = specs(sensorFields, anchor: anchor)
        var overrides: [String: [RuleSpec]] = [:]
        for (equipmentName, o) in f["overrides"]?.entries() ?? [] {
            overrides[equipmentName] = specs(ruleFields(o, base: sensorFields), anchor: o)
        }
        guard let name, let pattern, let equipment, let signal, let decode else { return nil }
        return SensorConfig(name: name, broker: brokerName, topic: pattern, qos: qos, equipment: equipment,
                            signal: signal, decode: decode, rules: rules, overrides: overrides)
    }

    func readDecode(_ node: ConfigNode) -> DecodeSpec? {
        guard let f = node.fields(allowed: ["format", "value", "time", "time_format"], required: ["format"]),
              let format = f["format"]?.oneOf(DecodeSpec.Format.allCases.map(\.rawValue)).flatMap(DecodeSpec.Format.init) else { return nil }
        var spec = DecodeSpec(format: format)
        func path(_ key: String) -> JSONPath? {
            guard let n = f[key], let text = n.string() else { return nil }
            guard let p = JSONPath(parsing: text) else {
                n.issue("\"\(text)\" is not a JSON path; write it like value, data.temp or readings[0].v")
                return nil
            }
            return p
        }
        if format == .json {
            if f["value"] == nil {
                node.issue("JSON decoding needs value: (the path to the reading, like value or data.temp)")
            }
            spec.valuePath = path("value") ?? JSONPath()
            spec.timePath = path("time")
        } else {
            for key in ["value", "time"] where f[key] != nil {
                f[key]?.issue("\(key): applies to format json only; a \(format.rawValue) payload is the value itself")
            }
        }
        if let tf = f["time_format"]?.oneOf(DecodeSpec.TimeFormat.allCases.map(\.rawValue)) {
            spec.timeFormat = DecodeSpec.TimeFormat(rawValue: tf)!
        }
        // Without value: the spec is unusable, but time: and time_format: were still checked above.
        return format == .json && f["value"] == nil ? nil : spec
    }
}
