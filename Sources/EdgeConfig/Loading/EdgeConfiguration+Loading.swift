import EdgeRules
import Foundation
import MillwrightCore
import MQTTClient
import Yams

extension EdgeConfiguration {
    /// Reads and validates a configuration file; the error lists every issue with file, line and column.
    public static func load(file: String) throws(ConfigError) -> EdgeConfiguration {
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw ConfigError(issues: [ConfigIssue(file: file, line: 1, column: 1, path: "",
                                                   message: "cannot read the file: \(error.localizedDescription)")])
        }
        return try parse(yaml: text, file: file)
    }

    /// Validates configuration text. `file` names it in error messages; relative paths resolve beside it.
    public static func parse(yaml: String, file: String = "<config>") throws(ConfigError) -> EdgeConfiguration {
        let log = IssueLog(file: file)
        let root: Node
        do {
            guard let r = try compose(yaml, log: log) else {
                throw ConfigError(issues: [ConfigIssue(file: file, line: 1, column: 1, path: "", message: "the file is empty; see edge/examples/demo.yaml")])
            }
            root = r
        } catch let e as ConfigError {
            throw e
        } catch let e as YamlError {
            throw ConfigError(issues: [yamlIssue(e, file: file)])
        } catch {
            throw ConfigError(issues: [ConfigIssue(file: file, line: 1, column: 1, path: "", message: "not valid YAML: \(error)")])
        }
        let reader = ConfigReader(root: ConfigNode(node: root, path: "", log: log), file: file, text: yaml)
        let config = reader.read()
        if !log.issues.isEmpty { throw ConfigError(issues: log.issues.sorted()) }
        guard let config else {
            throw ConfigError(issues: [ConfigIssue(file: file, line: 1, column: 1, path: "", message: "the configuration is incomplete")])
        }
        return config
    }

    /// Yams stops at the first mapping with a repeated key. So that a repeated key is reported with every
    /// other issue, the earlier occurrence gets its first character swapped for an unused private-use one
    /// (no column moves) and the text is composed again; `ConfigNode.entries` restores the key and
    /// reports the later occurrence where it stands.
    static func compose(_ yaml: String, log: IssueLog) throws -> Node? {
        var scalars = Array(yaml.unicodeScalars)
        let used = Set(scalars)
        var markers = (UInt32(0xE000)...0xF8FF).lazy.compactMap { Unicode.Scalar($0) }.filter { !used.contains($0) }.makeIterator()
        while true {
            do {
                var view = String.UnicodeScalarView()
                view.append(contentsOf: scalars)
                return try Yams.compose(yaml: String(view))
            } catch YamlError.duplicatedKeysInMapping(let keys, let context) {
                guard var i = scalarIndex(line: context.mark.line, column: context.mark.column, in: scalars) else {
                    throw YamlError.duplicatedKeysInMapping(duplicates: keys, context: context)
                }
                if scalars[i] == "\"" || scalars[i] == "'" { i += 1 }
                guard i < scalars.count, !"\"'\\&!*|> \t\r\n".unicodeScalars.contains(scalars[i]),
                      let marker = markers.next() else {
                    throw YamlError.duplicatedKeysInMapping(duplicates: keys, context: context)
                }
                log.renamedKeys[marker] = scalars[i]
                scalars[i] = marker
            }
        }
    }

    /// The index of the character at a 1-based line and column (libyaml counts columns in scalars).
    static func scalarIndex(line: Int, column: Int, in scalars: [Unicode.Scalar]) -> Int? {
        var l = 1, c = 1, i = 0
        while i < scalars.count {
            if l == line && c == column { return i }
            if scalars[i] == "\r" && i + 1 < scalars.count && scalars[i + 1] == "\n" { i += 1 }
            if "\n\r\u{85}\u{2028}\u{2029}".unicodeScalars.contains(scalars[i]) { l += 1; c = 1 } else { c += 1 }
            i += 1
        }
        return nil
    }

    static func yamlIssue(_ e: YamlError, file: String) -> ConfigIssue {
        switch e {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return ConfigIssue(file: file, line: mark.line, column: mark.column, path: "",
                               message: "not valid YAML: \(problem) (check indentation and quoting on this line)")
        case .duplicatedKeysInMapping(let keys, let context):
            return ConfigIssue(file: file, line: context.mark.line, column: context.mark.column, path: "",
                               message: "key \(keys.map { "\"\($0)\"" }.joined(separator: ", ")) appears more than once in this mapping; keep one")
        default:
            return ConfigIssue(file: file, line: 1, column: 1, path: "", message: "not valid YAML: \(e)")
        }
    }
}

/// One pass over the document, building the typed configuration and logging issues.
struct ConfigReader {
    let root: ConfigNode
    let file: String
    let text: String

    static let topKeys = ["site", "edge", "data_dir", "brokers", "ingest", "templates", "sensors"]
    static let brokerKeys = ["host", "port", "protocol", "client_id", "clean_start", "session_expiry", "keepalive",
                             "username", "password", "password_file", "tls", "reconnect", "receive_maximum"]
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
        guard let site, let edge else { return nil }
        return EdgeConfiguration(site: site, edge: edge, dataDir: resolve(dataDir), brokers: brokers, ingest: ingest,
                                 sensors: sensors, version: Self.fingerprint(text))
    }

    /// Site and edge names go into topics and keys: keep them to safe characters.
    func validName(_ s: String, _ node: ConfigNode) -> String {
        if !s.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) || s.contains("/") {
            node.issue("\"\(s)\" may hold only letters, digits, '-', '_' and '.' (it becomes part of MQTT topics)")
        }
        return s
    }

    /// Paths in the file are relative to the file's folder.
    func resolve(_ path: String) -> String {
        guard !path.hasPrefix("/"), file != "<config>" else { return path }
        let dir = (file as NSString).deletingLastPathComponent
        guard !dir.isEmpty else { return path }
        // Without "..", so logs and status show where the data really is.
        return URL(fileURLWithPath: (dir as NSString).appendingPathComponent(path)).standardizedFileURL.path
    }

    static func fingerprint(_ text: String) -> String {
        // FNV-1a: stable across runs and platforms, unlike Hasher.
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        let hex = String(h, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    // MARK: brokers

    func readBrokers(_ node: ConfigNode, edge: String) -> [BrokerConfig] {
        guard let entries = node.entries() else { return [] }
        if entries.isEmpty { node.issue("define at least one broker") }
        return entries.compactMap { name, b in readBroker(name, b, edge: edge) }
    }

    func readBroker(_ name: String, _ node: ConfigNode, edge: String) -> BrokerConfig? {
        guard let f = node.fields(allowed: Self.brokerKeys) else { return nil }
        var o = MQTTConnectionOptions(clientID: "millwright-\(edge)-\(name)")
        o.cleanStart = false
        o.protocolVersion = .v5
        o.host = f["host"]?.string() ?? "127.0.0.1"
        o.port = f["port"]?.int(in: 1...65535) ?? 1883
        if let p = f["protocol"]?.oneOf(["3.1.1", "5"]) { o.protocolVersion = p == "5" ? .v5 : .v311 }
        if let id = f["client_id"]?.string() { o.clientID = id }
        if let c = f["clean_start"]?.bool() { o.cleanStart = c }
        if let s = f["session_expiry"]?.duration() { o.sessionExpiry = UInt32(clamping: s.value / 1000) }
        if let k = f["keepalive"]?.duration(positive: true) {
            o.keepalive = Int(k.value / 1000)
            if !(5...65535).contains(o.keepalive) { f["keepalive"]?.issue("must be between 5s and 65535s") }
        }
        if let r = f["receive_maximum"]?.int(in: 1...65535) { o.receiveMaximum = r }
        o.username = f["username"]?.string()
        if let pw = f["password"] { o.password = pw.string(nonEmpty: false) }
        if let pf = f["password_file"], let path = pf.string() {
            if f["password"] != nil { pf.issue("give password or password_file, not both") }
            do {
                o.password = try String(contentsOfFile: resolve(path), encoding: .utf8)
                    .trimmingCharacters(in: .whitespacesAndNewlines)
            } catch {
                pf.issue("cannot read \(resolve(path)): \(error.localizedDescription)")
            }
        }
        if (f["password"] != nil || f["password_file"] != nil) && o.username == nil {
            node.issue("a password needs a username")
        }
        if let t = f["tls"], let tf = t.fields(allowed: ["ca_file", "ca_path", "cert_file", "key_file", "insecure_skip_hostname_check"]) {
            var tls = MQTTConnectionOptions.TLS()
            func file(_ key: String) -> String? {
                guard let n = tf[key], let p = n.string() else { return nil }
                let full = resolve(p)
                if !FileManager.default.fileExists(atPath: full) { n.issue("file \(full) does not exist") }
                return full
            }
            tls.caFile = file("ca_file")
            tls.caPath = tf["ca_path"]?.string().map(resolve)
            tls.certFile = file("cert_file")
            tls.keyFile = file("key_file")
            tls.insecureSkipHostnameCheck = tf["insecure_skip_hostname_check"]?.bool() ?? false
            if tls.caFile == nil && tls.caPath == nil { t.issue("TLS needs ca_file or ca_path") }
            if (tls.certFile == nil) != (tls.keyFile == nil) { t.issue("a client certificate needs both cert_file and key_file") }
            o.tls = tls
        }
        if let r = f["reconnect"], let rf = r.fields(allowed: ["initial", "maximum", "jitter"]) {
            if let i = rf["initial"]?.duration(positive: true) { o.reconnect.initial = i.seconds }
            if let m = rf["maximum"]?.duration(positive: true) { o.reconnect.maximum = m.seconds }
            if let j = rf["jitter"]?.double(min: 0) {
                if j > 1 { rf["jitter"]?.issue("must be between 0 and 1") } else { o.reconnect.jitter = j }
            }
            if o.reconnect.maximum < o.reconnect.initial { r.issue("maximum must not be below initial") }
        }
        if o.clientID.isEmpty && !o.cleanStart { node.issue("a persistent session (clean_start: false) needs a client_id") }
        return BrokerConfig(name: name, options: o)
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
