import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A private CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl
/// for a test (TLS to mosquitto and to PostgreSQL).
///
/// Why made per test rather than committed: certificates expire, and a committed private key would
/// be a secret in the repository; these live two days in a temporary folder.
public struct TestPKI: Sendable {
    public let ca: String
    public let serverCert: String
    public let serverKey: String
    public let clientCert: String
    public let clientKey: String

    /// `clientName` is the client certificate's common name (a broker can take it as the username).
    public init(in dir: URL, clientName: String = "edge-gw") throws {
        let d = dir.path
        func ssl(_ args: [String]) throws {
            let r = try Executables.run("openssl", args)
            guard r.status == 0 else { throw FixtureError("openssl \(args.joined(separator: " ")) failed") }
        }
        try ssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=millwright-test-ca",
                 "-keyout", "\(d)/ca.key", "-out", "\(d)/ca.pem"])
        try "subjectAltName=IP:127.0.0.1\n".write(toFile: "\(d)/san.ext", atomically: true, encoding: .utf8)
        for name in ["server", "client"] {
            // A "/" in a subject's value is escaped for openssl's -subj.
            let cn = name == "server" ? "127.0.0.1" : clientName.replacingOccurrences(of: "/", with: "\\/")
            try ssl(["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=\(cn)", "-keyout", "\(d)/\(name).key", "-out", "\(d)/\(name).csr"])
            try ssl(["x509", "-req", "-in", "\(d)/\(name).csr", "-CA", "\(d)/ca.pem", "-CAkey", "\(d)/ca.key", "-CAcreateserial",
                     "-days", "2", "-out", "\(d)/\(name).pem"] + (name == "server" ? ["-extfile", "\(d)/san.ext"] : []))
        }
        for f in ["server.key", "client.key"] { chmod("\(d)/\(f)", 0o644) }
        (ca, serverCert, serverKey, clientCert, clientKey) = ("\(d)/ca.pem", "\(d)/server.pem", "\(d)/server.key", "\(d)/client.pem", "\(d)/client.key")
    }
}
