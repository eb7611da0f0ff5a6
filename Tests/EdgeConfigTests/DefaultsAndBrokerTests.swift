import Foundation
import ConfigSupport
import Testing
@testable import EdgeConfig
import EdgeRules
import MillwrightCore

@Suite("Defaults, brokers, files beside the config and the version")
struct DefaultsAndBrokerTests {
    static let minimal = """
        site: s
        edge: e1
        brokers:
          main: {}
        sensors:
          - name: p
            topic: "a/{equipment}/p"
            decode: { format: number }
            rules:
              counter: {}
              window: { every: 1m }
        """

    @Test func brokerDefaults() throws {
        let config = try parse(Self.minimal)
        let o = try #require(config.broker(named: "main")).options
        #expect(o.host == "127.0.0.1")
        #expect(o.port == 1883)
        #expect(o.protocolVersion == .v5)
        #expect(o.cleanStart == false)
        #expect(o.clientID == "millwright-e1-main")
        #expect(o.keepalive == 30)
        #expect(o.sessionExpiry == 86_400)
        #expect(o.receiveMaximum == 1000)
        #expect(o.username == nil)
        #expect(o.password == nil)
        #expect(o.tls == nil)
    }

    @Test func ingestDefaults() throws {
        let config = try parse(Self.minimal)
        let i = config.ingest
        #expect(i == IngestSettings())
        #expect(i.maxPayloadBytes == 65_536)
        #expect(i.maxFutureSkew == Millis(300_000))
        #expect(i.maxPastAge == Millis(604_800_000))
        #expect(i.onClockSkew == .useReceiveTime)
        #expect(i.quarantineKeep == 1000)
        #expect(i.tickInterval == Millis(1000))
        #expect(i.checkpointInterval == Millis(5000))
        #expect(i.statusInterval == Millis(5000))
        #expect(i.watchInterval == Millis(2000))
    }

    @Test func sensorAndRuleDefaults() throws {
        let config = try parse(Self.minimal)
        let p = config.sensors[0]
        #expect(p.qos == 1)
        #expect(p.broker == "main")
        #expect(p.equipment.text == "{equipment}")
        #expect(p.signal.text == "p")
        #expect(p.decode == DecodeSpec(format: .number, valuePath: JSONPath(), timePath: nil, timeFormat: .auto))
        #expect(p.rules == [
            .window(WindowParams(every: Millis(60_000), aggregates: [.min, .max, .mean, .count, .last], grace: Millis(2000))),
            .counter(CounterParams(bits: 32, every: Millis(60_000), quantity: nil, maxDelta: nil)),
        ])
        // Without a file, data_dir stays relative: ./var/<edge>.
        #expect(config.dataDir == "./var/e1")
    }

    @Test func signalCaptureIsTheDefaultSignal() throws {
        let config = try parse("""
            site: s
            edge: e
            brokers:
              main: {}
            sensors:
              - name: p
                topic: "a/{equipment}/{signal}"
                decode: { format: number }
                rules: { stale: { after: 5s } }
            """)
        #expect(config.sensors[0].signal.text == "{signal}")
        #expect(config.sensors[0].topic.match("a/m1/temp").map { config.sensors[0].signal.render($0) } == "temp")
    }

    @Test func ingestSettingsAreRead() throws {
        let config = try parse("""
            site: s
            edge: e
            brokers:
              main: {}
            ingest:
              max_payload_bytes: 1024
              max_future_skew: 30s
              max_past_age: 1d
              on_clock_skew: reject
              quarantine_keep: 0
              tick_interval: 250ms
              checkpoint_interval: 10s
              status_interval: 1m
              watch_interval: 0
            sensors:
              - name: p
                topic: "a/{equipment}/p"
                decode: { format: number }
                rules: { stale: { after: 5s } }
            """)
        var expected = IngestSettings()
        expected.maxPayloadBytes = 1024
        expected.maxFutureSkew = Millis(30_000)
        expected.maxPastAge = Millis(86_400_000)
        expected.onClockSkew = .reject
        expected.quarantineKeep = 0
        expected.tickInterval = Millis(250)
        expected.checkpointInterval = Millis(10_000)
        expected.statusInterval = Millis(60_000)
        expected.watchInterval = .zero
        #expect(config.ingest == expected)
    }

    @Test func hostnameInAClientIDBecomesThisMachinesName() throws {
        let config = try parse("""
            site: s
            edge: e
            brokers:
              plant: { client_id: "gw-{hostname}-plant" }
            uplink: { client_id: "{hostname}" }
            sensors:
              - name: p
                topic: "a/{equipment}/p"
                decode: { format: number }
                rules: { stale: { after: 5s } }
            """)
        let host = ProcessInfo.processInfo.hostName
        #expect(!host.isEmpty)
        #expect(config.brokers[0].options.clientID == "gw-\(host)-plant")
        #expect(config.uplink?.options.clientID == host)
    }

    @Test func brokerSettingsAreRead() throws {
        let config = try parse("""
            site: s
            edge: e
            brokers:
              plant:
                host: broker.local
                port: 8883
                protocol: 3.1.1
                client_id: gw
                clean_start: true
                session_expiry: 1h
                keepalive: 45s
                receive_maximum: 20
                username: edge
                password: ""
                reconnect: { initial: 250ms, maximum: 1m, jitter: 0.25 }
            sensors:
              - name: p
                topic: "a/{equipment}/p"
                decode: { format: number }
                rules: { stale: { after: 5s } }
            """)
        let o = config.brokers[0].options
        #expect(o.host == "broker.local")
        #expect(o.port == 8883)
        #expect(o.protocolVersion == .v311)
        #expect(o.clientID == "gw")
        #expect(o.cleanStart == true)
        #expect(o.sessionExpiry == 3600)
        #expect(o.keepalive == 45)
        #expect(o.receiveMaximum == 20)
        #expect(o.username == "edge")
        #expect(o.password == "")
        #expect(o.reconnect.initial == 0.25)
        #expect(o.reconnect.maximum == 60)
        #expect(o.reconnect.jitter == 0.25)
    }

    @Test func badBrokerEnumsAndReconnectOrder() {
        let found = issues("""
            site: s
            edge: e
            brokers:
              plant:
                protocol: 4
                clean_start: sometimes
                reconnect: { initial: 10s, maximum: 1s }
            sensors:
              - name: p
                topic: "a/{equipment}/p"
                decode: { format: number }
                rules: { stale: { after: 5s } }
            """)
        #expect(found.map(\.location) == [
            Location(5, 15, "brokers.plant.protocol"),
            Location(6, 18, "brokers.plant.clean_start"),
            Location(7, 16, "brokers.plant.reconnect"),
        ])
        #expect(found.map(\.message) == [
            "\"4\" is not allowed (did you mean \"5\"?); use one of 3.1.1, 5",
            "expected true or false, got \"sometimes\"",
            "maximum must not be below initial",
        ])
    }

    @Test func twoBrokersNeedAnExplicitBroker() throws {
        let yaml = """
            site: s
            edge: e
            brokers:
              line1: {}
              line2: { port: 1884 }
            sensors:
              - name: a
                topic: "a/{equipment}/a"
                decode: { format: number }
                rules: { stale: { after: 5s } }
              - name: b
                broker: line2
                topic: "b/{equipment}/b"
                decode: { format: number }
                rules: { stale: { after: 5s } }
            """
        let found = issues(yaml)
        #expect(found.map(\.location) == [Location(7, 5, "sensors[0]")])
        #expect(found.map(\.message) == ["there are 2 brokers: say which one with broker:"])

        let fixed = try parse(yaml.replacingOccurrences(of: "  - name: a\n", with: "  - name: a\n    broker: line1\n"))
        #expect(fixed.sensors.map(\.broker) == ["line1", "line2"])
        #expect(fixed.brokers.map(\.options.clientID) == ["millwright-e-line1", "millwright-e-line2"])
        #expect(fixed.broker(named: "line2")?.options.port == 1884)
    }

    @Test func passwordFileIsReadBesideTheConfigAndTrimmed() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        try write("  s3cret pass \n\n", to: "broker.pw", in: dir)
        let file = try write("""
            site: s
            edge: e
            brokers:
              plant:
                username: edge
                password_file: broker.pw
            sensors:
              - name: p
                topic: "a/{equipment}/p"
                decode: { format: number }
                rules: { stale: { after: 5s } }
            """, to: "edge.yaml", in: dir)
        let config = try EdgeConfiguration.load(file: file)
        #expect(config.brokers[0].options.password == "s3cret pass")
        #expect(config.brokers[0].options.username == "edge")
    }

    @Test func passwordFileProblems() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = try write("""
            site: s
            edge: e
            brokers:
              plant:
                password: x
                password_file: missing.pw
            sensors:
              - name: p
                topic: "a/{equipment}/p"
                decode: { format: number }
                rules: { stale: { after: 5s } }
            """, to: "edge.yaml", in: dir)
        do {
            _ = try EdgeConfiguration.load(file: file)
            Issue.record("expected a ConfigError")
        } catch {
            #expect(error.issues.map(\.location) == [
                Location(5, 5, "brokers.plant"),
                Location(6, 20, "brokers.plant.password_file"),
                Location(6, 20, "brokers.plant.password_file"),
            ])
            #expect(error.issues[0].message == "a password needs a username")
            #expect(error.issues[1].message.hasPrefix("cannot read \(dir.path)/missing.pw: "))
            #expect(error.issues[2].message == "give password or password_file, not both")
            #expect(error.issues.allSatisfy { $0.file == file })
        }
    }

    @Test func passwordWithoutUsername() {
        let found = issues("""
            site: s
            edge: e
            brokers:
              plant:
                host: h
                password: secret
            sensors:
              - name: p
                topic: "a/{equipment}/p"
                decode: { format: number }
                rules: { stale: { after: 5s } }
            """)
        #expect(found.map(\.location) == [Location(5, 5, "brokers.plant")])
        #expect(found.map(\.message) == ["a password needs a username"])
    }

    @Test func tlsWithAMissingCAFile() {
        let found = issues("""
            site: s
            edge: e
            brokers:
              plant:
                tls: { ca_file: /nonexistent/ca.pem, cert_file: /nonexistent/c.pem }
              other:
                tls: {}
            sensors:
              - name: p
                broker: plant
                topic: "a/{equipment}/p"
                decode: { format: number }
                rules: { stale: { after: 5s } }
            """)
        #expect(found.map(\.location) == [
            Location(5, 10, "brokers.plant.tls"),
            Location(5, 21, "brokers.plant.tls.ca_file"),
            Location(5, 53, "brokers.plant.tls.cert_file"),
            Location(7, 10, "brokers.other.tls"),
        ])
        #expect(found.map(\.message) == [
            "a client certificate needs both cert_file and key_file",
            "file /nonexistent/ca.pem does not exist",
            "file /nonexistent/c.pem does not exist",
            "TLS needs ca_file or ca_path",
        ])
    }

    @Test func tlsFilesResolveBesideTheConfig() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        try write("CA", to: "ca.pem", in: dir)
        let file = try write("""
            site: s
            edge: e
            brokers:
              plant:
                port: 8883
                tls: { ca_file: ca.pem, insecure_skip_hostname_check: true }
            sensors:
              - name: p
                topic: "a/{equipment}/p"
                decode: { format: number }
                rules: { stale: { after: 5s } }
            """, to: "edge.yaml", in: dir)
        let config = try EdgeConfiguration.load(file: file)
        let tls = try #require(config.brokers[0].options.tls)
        #expect(tls.caFile == dir.appendingPathComponent("ca.pem").path)
        #expect(tls.insecureSkipHostnameCheck == true)
        #expect(tls.certFile == nil)
    }

    @Test func dataDirResolvesBesideTheConfigFile() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let sub = dir.appendingPathComponent("conf")
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)

        let relative = try write(Self.minimal.replacingOccurrences(of: "edge: e1\n", with: "edge: e1\ndata_dir: ../state/edge\n"),
                                 to: "edge.yaml", in: sub)
        #expect(try EdgeConfiguration.load(file: relative).dataDir == dir.appendingPathComponent("state/edge").path)

        let defaulted = try write(Self.minimal, to: "default.yaml", in: sub)
        #expect(try EdgeConfiguration.load(file: defaulted).dataDir == sub.appendingPathComponent("var/e1").path)

        let absolute = try write(Self.minimal.replacingOccurrences(of: "edge: e1\n", with: "edge: e1\ndata_dir: /srv/millwright\n"),
                                 to: "abs.yaml", in: sub)
        #expect(try EdgeConfiguration.load(file: absolute).dataDir == "/srv/millwright")
    }

    @Test func versionIsStableAndFollowsTheText() throws {
        let a = try parse(Self.minimal).version
        let b = try parse(Self.minimal).version
        let c = try parse(Self.minimal + "\n# a comment changes the text\n").version
        let d = try parse(Self.minimal.replacingOccurrences(of: "every: 1m", with: "every: 2m")).version
        #expect(a == b)
        #expect(a != c)
        #expect(a != d)
        #expect(c != d)
        #expect(a.count == 16)
        #expect(a.allSatisfy { "0123456789abcdef".contains($0) })

        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = try write(Self.minimal, to: "edge.yaml", in: dir)
        #expect(try EdgeConfiguration.load(file: file).version == a)
    }

    @Test func versionIsFNV1a64OfTheText() throws {
        func version(_ text: String) throws -> String { try YAMLDocument(text: text, file: "f", example: "e").fingerprint }
        #expect(try version("a: 1") == "18bb6a82dcbc69f5")
        #expect(try version("foobar: x") == "d79ae2d70f35e64e")
    }
}

