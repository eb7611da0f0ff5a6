import ConfigSupport
import Foundation
import MillwrightCore

/// Which database holds the central's state, from the `store` section.
///
/// Why its own type: the embedded default (one SQLite file under `data_dir`) and a PostgreSQL
/// shared by several central replicas are chosen by configuration alone; the executable opens
/// the matching backend behind the same store seams.
public enum StoreSettings: Sendable, Hashable {
    case sqlite
    case postgresql(PostgreSQL)

    /// Where a PostgreSQL backend connects, and how (TLS mode and the CA to verify the server with).
    public struct PostgreSQL: Sendable, Hashable {
        public var host = "127.0.0.1"
        public var port = 5432
        public var user = "millwright"
        public var password: String?
        public var database = "millwright"
        /// Connections this central process keeps open at most.
        public var connections = 8
        /// How each connection's TLS is set: disable, prefer, require or verify-full.
        public var tls = TLSMode.prefer
        /// The CA certificates (PEM) the server's certificate must chain to; nil: the system's.
        public var caFile: String?
        /// How long a replica's claim on a due posting lasts: another replica takes the posting
        /// over only after this, if the claimant died before an outcome (`claim_ttl`).
        public var claimTTL = Millis(300_000)

        public init(host: String = "127.0.0.1", port: Int = 5432, user: String = "millwright", password: String? = nil,
                    database: String = "millwright", connections: Int = 8, tls: TLSMode = .prefer) {
            self.host = host
            self.port = port
            self.user = user
            self.password = password
            self.database = database
            self.connections = connections
            self.tls = tls
        }

        /// For logs and `status`: never the password.
        public var display: String { "postgresql://\(user)@\(host):\(port)/\(database)" }
    }

    /// Why four: libpq's names, so a DBA reads them as usual; unlike libpq's, `require` here verifies
    /// the server's certificate and host name too, so `require` and `verify-full` are the same.
    public enum TLSMode: String, Sendable, Hashable, CaseIterable {
        /// Plaintext.
        case disable
        /// TLS when the server offers it, otherwise plaintext (the certificate is verified when TLS is used).
        case prefer
        /// TLS or no connection; the certificate and host name verified.
        case require
        /// The same as `require` (libpq's name for it).
        case verifyFull = "verify-full"

        /// Whether a connection without TLS is refused.
        public var required: Bool { self == .require || self == .verifyFull }
    }

    static let keys = ["backend", "host", "port", "user", "password", "password_file", "database", "connections", "tls", "ca_file",
                       "lease_ttl", "claim_ttl"]

    /// The section's settings and `lease_ttl` (read with either backend).
    static func read(_ node: ConfigNode?, document doc: YAMLDocument) -> (StoreSettings, Millis?) {
        guard let node, let f = node.fields(allowed: keys) else { return (.sqlite, nil) }
        let leaseTTL = f["lease_ttl"]?.duration(positive: true)
        if let ttl = leaseTTL, ttl.value < 3000 || ttl.value > 600_000 {
            f["lease_ttl"]?.issue("must be between 3s and 10m (replicas renew every third of it)")
        }
        let backend = f["backend"]?.oneOf(["sqlite", "postgresql"]) ?? "sqlite"
        if backend == "sqlite" {
            for key in keys where !["backend", "lease_ttl"].contains(key) {
                f[key]?.issue("only read with backend: postgresql (the SQLite file is <data_dir>/central.sqlite)")
            }
            return (.sqlite, leaseTTL)
        }
        var pg = PostgreSQL()
        pg.host = f["host"]?.string() ?? pg.host
        pg.port = f["port"]?.int(in: 1...65535) ?? pg.port
        pg.user = f["user"]?.string() ?? pg.user
        pg.database = f["database"]?.string() ?? pg.database
        pg.connections = f["connections"]?.int(in: 1...200) ?? pg.connections
        if let mode = f["tls"]?.oneOf(TLSMode.allCases.map(\.rawValue)) { pg.tls = TLSMode(rawValue: mode) ?? .prefer }
        if let ca = f["ca_file"], let path = ca.string() {
            let full = doc.resolve(path)
            if !FileManager.default.fileExists(atPath: full) { ca.issue("file \(full) does not exist") }
            if pg.tls == .disable { ca.issue("tls: disable uses no certificates; set tls: verify-full to verify the server with this CA") }
            pg.caFile = full
        }
        if pg.tls == .prefer, !["127.0.0.1", "::1", "localhost"].contains(pg.host), f["tls"] == nil {
            node.warn("tls is `prefer` by default: if \(pg.host) offers no TLS the connection is plaintext; set tls: verify-full (or require) to refuse that, or tls: disable to say plaintext is intended")
        }
        if let claim = f["claim_ttl"]?.duration(positive: true) {
            if claim.value < 10_000 || claim.value > 3_600_000 {
                f["claim_ttl"]?.issue("must be between 10s and 1h, and longer than a delivery takes (postings.timeout)")
            }
            pg.claimTTL = claim
        }
        pg.password = f["password"]?.string(nonEmpty: false)
        if f["password"] != nil { f["password"]?.warn(ConfigNode.inlineSecretWarning("password_file")) }
        if let pf = f["password_file"], let path = pf.string() {
            if f["password"] != nil { pf.issue("give either password or password_file, not both") }
            if let text = try? String(contentsOfFile: doc.resolve(path), encoding: .utf8) {
                pg.password = text.trimmingCharacters(in: .whitespacesAndNewlines)
            } else {
                pf.issue("cannot read the password file \(doc.resolve(path))")
            }
        }
        return (.postgresql(pg), leaseTTL)
    }
}
