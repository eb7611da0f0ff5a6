import Foundation
import MQTTClient

/// Reads MQTT connection settings (broker, credentials, TLS, reconnect) the same way for
/// every place a configuration names a broker.
package struct MQTTOptionsReader {
    package static let keys = ["host", "port", "protocol", "client_id", "clean_start", "session_expiry", "keepalive",
                               "username", "password", "password_file", "tls", "reconnect", "receive_maximum"]

    let document: YAMLDocument

    package init(document: YAMLDocument) { self.document = document }

    func resolve(_ path: String) -> String { document.resolve(path) }

    /// `{hostname}` in a client id, a username or a password file's path becomes this machine's
    /// host name: replicas started from one configuration (a Kubernetes StatefulSet: pods
    /// `millwright-central-0`, `-1`, ...) each get their own id and broker identity, and keep them
    /// across restarts, so each resumes its own persistent session and speaks only for itself.
    package static func expand(_ clientID: String) -> String {
        guard clientID.contains("{hostname}") else { return clientID }
        return clientID.replacingOccurrences(of: "{hostname}", with: ProcessInfo.processInfo.hostName)
    }

    /// `f` are the node's fields (already checked against `keys` plus any the caller allows).
    package func read(_ f: [String: ConfigNode], node: ConfigNode, defaultClientID: String) -> MQTTConnectionOptions {
        var o = MQTTConnectionOptions(clientID: defaultClientID)
        o.cleanStart = false
        o.protocolVersion = .v5
        o.host = f["host"]?.string() ?? "127.0.0.1"
        o.port = f["port"]?.int(in: 1...65535) ?? 1883
        if let p = f["protocol"]?.oneOf(["3.1.1", "5"]) { o.protocolVersion = p == "5" ? .v5 : .v311 }
        if let id = f["client_id"]?.string() { o.clientID = Self.expand(id) }
        if let c = f["clean_start"]?.bool() { o.cleanStart = c }
        if let s = f["session_expiry"]?.duration() { o.sessionExpiry = UInt32(clamping: s.value / 1000) }
        if let k = f["keepalive"]?.duration(positive: true) {
            o.keepalive = Int(k.value / 1000)
            if !(5...65535).contains(o.keepalive) { f["keepalive"]?.issue("must be between 5s and 65535s") }
        }
        if let r = f["receive_maximum"]?.int(in: 1...65535) { o.receiveMaximum = r }
        o.username = f["username"]?.string().map(Self.expand)
        if let pw = f["password"] {
            o.password = pw.string(nonEmpty: false)
            pw.warn(ConfigNode.inlineSecretWarning("password_file"))
        }
        if let pf = f["password_file"], let path = pf.string() {
            if f["password"] != nil { pf.issue("give password or password_file, not both") }
            do {
                o.password = try String(contentsOfFile: resolve(Self.expand(path)), encoding: .utf8)
                    .trimmingCharacters(in: .whitespacesAndNewlines)
            } catch {
                pf.issue("cannot read \(resolve(Self.expand(path))): \(error.localizedDescription)")
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
        return o
    }
}
