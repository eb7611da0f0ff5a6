import CentralIngest
import CentralSync
import ConfigSupport
import Foundation
import Testing
import TestSupport

/// Secrets in the central's configuration: every one can come from a file (an HTTP header also from
/// the environment), and one written inline is a located warning, not silence.
@Suite struct SecretSettingsTests {
    func file(_ text: String) throws -> String {
        let path = try TemporaryDirectory.make(prefix: "secret").appendingPathComponent("value").path
        try "\(text)\n".write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func anHTTPHeaderComesFromAFileOrTheEnvironmentAndInlineIsWarnedAbout() throws {
        let token = try file("Bearer from-a-file")
        let yaml = """
            central: c1
            targets:
              cmms:
                kind: http
                url: "http://127.0.0.1:9000/notifications"
                headers:
                  Authorization: { file: \(token) }
                  X-Api-Key: { env: HOME }
                  X-Plant: plant-a
              mes:
                kind: http
                url: "http://127.0.0.1:9001/holds"
                headers: { Authorization: "Bearer inline" }
            routes: { maintenance_notification: cmms, quality_hold: mes }
            """
        let c = try SyncConfiguration.parse(yaml: yaml, file: "central.yaml")
        guard case .http(_, _, let headers)? = c.targets["cmms"] else {
            Issue.record("cmms is an http target")
            return
        }
        #expect(headers["Authorization"] == "Bearer from-a-file")
        #expect(headers["X-Api-Key"] == ProcessInfo.processInfo.environment["HOME"])
        #expect(headers["X-Plant"] == "plant-a")
        // The inline token is used, and named in a located warning; the plain header is not.
        #expect(c.warnings.map { "\($0.file):\($0.line):\($0.path)" } == ["central.yaml:13:targets.mes.headers.Authorization"])
        #expect(c.warnings.first?.message.contains("{ file: /etc/millwright/authorization }") == true)
    }

    /// The shipped examples read their secrets from files: they load without a warning.
    @Test(arguments: ["central.yaml", "central-erp.yaml"]) func theShippedExamplesHaveNoWarnings(_ name: String) throws {
        let path = packageRoot.appendingPathComponent("central/examples/\(name)").path
        let c = try CentralConfiguration.load(file: path), s = try SyncConfiguration.load(file: path)
        #expect((c.warnings + s.warnings).isEmpty, "\(c.warnings + s.warnings)")
    }

    @Test func aMissingSecretIsAnErrorWithItsPlace() {
        let yaml = """
            central: c1
            targets:
              cmms: { kind: http, url: "http://x", headers: { Authorization: { env: MILLWRIGHT_SURELY_UNSET_VARIABLE } } }
            routes: { maintenance_notification: cmms }
            """
        #expect(throws: ConfigError.self) { try SyncConfiguration.parse(yaml: yaml) }
        do { _ = try SyncConfiguration.parse(yaml: yaml, file: "c.yaml") } catch {
            #expect(error.description.contains("c.yaml:3:") && error.description.contains(
                "targets.cmms.headers.Authorization.env: the environment variable MILLWRIGHT_SURELY_UNSET_VARIABLE is not set"),
                    "\(error)")
        }
    }

    @Test func inlinePasswordsAndAPlaintextFallbackToARemoteDatabaseAreWarnedAbout() throws {
        let yaml = """
            central: c1
            broker: { host: 127.0.0.1, port: 1884, username: millwright-central-1, password: inline }
            store: { backend: postgresql, host: db.example.internal, password: inline }
            erp:
              tryton: { url: "http://127.0.0.1:8000", database: millwright, user: admin, password: inline }
            """
        let c = try CentralConfiguration.parse(yaml: yaml, file: "central.yaml")
        let s = try SyncConfiguration.parse(yaml: yaml, file: "central.yaml")
        let all = (c.warnings + s.warnings).sorted().map { "\($0.line):\($0.path)" }
        #expect(all == ["2:broker.password", "3:store", "3:store.password", "5:erp.tryton.password"], "\(all)")
        #expect(c.warnings.contains { $0.message.contains("plaintext") })
        // Asked for explicitly, or with a CA: no warning about the fallback.
        let verified = try CentralConfiguration.parse(yaml: yaml.replacingOccurrences(of: "password: inline }\nerp", with: "tls: verify-full }\nerp"))
        #expect(verified.store == .postgresql({
            var pg = StoreSettings.PostgreSQL(host: "db.example.internal", tls: .verifyFull)
            pg.password = nil
            return pg
        }()))
        #expect(!verified.warnings.contains { $0.path.hasPrefix("store") })
    }
}
