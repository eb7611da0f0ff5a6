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

    /// Where a PostgreSQL backend connects. No TLS options yet: reach PostgreSQL over loopback,
    /// a private network or a TLS-terminating proxy (docs say so).
    public struct PostgreSQL: Sendable, Hashable {
        public var host = "127.0.0.1"
        public var port = 5432
        public var user = "millwright"
        public var password: String?
        public var database = "millwright"
        /// Connections this central process keeps open at most.
        public var connections = 8
        /// How each connection's TLS is set: disable, prefer or require.
        public var tls = TLSMode.prefer
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

    public enum TLSMode: String, Sendable, Hashable, CaseIterable {
        case disable, prefer, require
    }

    static let keys = ["backend", "host", "port", "user", "password", "password_file", "database", "connections", "tls", "lease_ttl",
                       "claim_ttl"]

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
        if let claim = f["claim_ttl"]?.duration(positive: true) {
            if claim.value < 10_000 || claim.value > 3_600_000 {
                f["claim_ttl"]?.issue("must be between 10s and 1h, and longer than a delivery takes (postings.timeout)")
            }
            pg.claimTTL = claim
        }
        pg.password = f["password"]?.string(nonEmpty: false)
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
