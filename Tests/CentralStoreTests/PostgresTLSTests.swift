import CentralIngest
import CentralPostgres
import Foundation
import Testing
import TestSupport

/// TLS to PostgreSQL as `store.tls` and `store.ca_file` promise: a real PostgreSQL with TLS on and a
/// certificate from a CA the test makes; verified when asked for, and never plaintext instead.
/// (Runs in the main pass only: it starts servers of its own either way.)
@Suite("TLS to PostgreSQL", .serialized, .enabled(if: CentralProcess.backend == "sqlite"))
struct PostgresTLSTests {
    func open(_ server: PostgresServer, _ tls: StoreSettings.TLSMode, ca: String?) async throws -> PostgresDatabase {
        var settings = StoreSettings.PostgreSQL(host: "127.0.0.1", port: server.port, user: "millwright",
                                                database: try server.createDatabase(), connections: 1, tls: tls)
        settings.caFile = ca
        return try await PostgresDatabase(settings: settings, logger: StoreBackend.logger, connectTimeout: .seconds(20))
    }

    /// The error a refused connection ends with, as an operator reads it.
    func refusal(_ server: PostgresServer, _ tls: StoreSettings.TLSMode, ca: String?) async -> String? {
        do {
            let db = try await open(server, tls, ca: ca)
            db.close()
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func verifiedWhenAskedAndNeverPlaintextInstead() async throws {
        let pki = try TestPKI(in: try TemporaryDirectory.make(prefix: "pg-pki"))
        let other = try TestPKI(in: try TemporaryDirectory.make(prefix: "pg-pki-other"))
        let server = try PostgresServer.separate(tlsCertificate: pki.serverCert, key: pki.serverKey)
        defer { server.stop() }

        // verify-full with the server's CA: connected over TLS (the server says so).
        let db = try await open(server, .verifyFull, ca: pki.ca)
        let tlsConnections = try server.psql("postgres", """
            SELECT COUNT(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE s.ssl AND a.datname = '\(db.settings.database)'
            """)
        db.close()
        #expect((Int(tlsConnections) ?? 0) >= 1, "the central's connection used TLS")

        // A CA the server's certificate does not chain to, or the system's trust store: refused, at once.
        let started = ContinuousClock.now
        let wrongCA = await refusal(server, .verifyFull, ca: other.ca)
        #expect(wrongCA?.contains("TLS failed") == true, "\(wrongCA ?? "connected")")
        #expect(ContinuousClock.now - started < .seconds(15), "a certificate that does not verify is not retried until the timeout")
        let systemTrust = await refusal(server, .require, ca: nil)
        #expect(systemTrust?.contains("TLS failed") == true, "\(systemTrust ?? "connected")")

        // A server without TLS (the shared test server): require refuses it instead of falling back.
        let plain = try PostgresServer.shared()
        let noTLS = await refusal(plain, .require, ca: pki.ca)
        #expect(noTLS?.contains("does not offer TLS") == true, "\(noTLS ?? "connected")")
        // prefer does fall back, as documented.
        let preferred = try await open(plain, .prefer, ca: nil)
        preferred.close()
    }
}
