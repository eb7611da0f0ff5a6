import Foundation
import Testing
@testable import MQTTClient
import TestSupport

/// TLS with a private CA and client certificates, and username/password, against a real mosquitto.
@Suite("MQTT security against a real mosquitto", .serialized)
struct MQTTSecurityTests {
    static func makePKI(in dir: URL, clientName: String = "edge-gw") throws -> TestPKI { try TestPKI(in: dir, clientName: clientName) }

    func connects(_ options: MQTTConnectionOptions, timeout: Double = 60) throws -> (Bool, [MQTTConnectionEvent]) {
        let received = Received()
        let c = try MQTTClient(options: options, onMessage: { _ in },
                               onConnectionChange: { e in received.events.withLock { $0.append(e) } })
        c.start()
        defer { c.stopBlocking() }
        let ok = eventually(timeout: timeout) { c.isConnected }
        return (ok, received.events.withLock { $0 })
    }

    @Test func tlsWithCAAndClientCertificate() throws {
        let dir = try TemporaryDirectory.make(prefix: "pki")
        let pki = try Self.makePKI(in: dir)
        let broker = try MosquittoBroker(listenerOptions: """
            cafile \(pki.ca)
            certfile \(pki.serverCert)
            keyfile \(pki.serverKey)
            require_certificate true
            """)
        defer { broker.stop() }
        var o = MQTTConnectionOptions(port: broker.port, clientID: "tls-ok", reconnect: .init(initial: 0.1, maximum: 0.3))
        o.tls = .init(caFile: pki.ca, certFile: pki.clientCert, keyFile: pki.clientKey)
        #expect(try connects(o).0)

        // Without the client certificate the broker refuses the handshake; the client keeps retrying, never connects.
        var noCert = o
        noCert.clientID = "tls-no-cert"
        noCert.tls = .init(caFile: pki.ca)
        #expect(try connects(noCert, timeout: 1.5).0 == false)

        // Plain MQTT to a TLS listener does not connect either.
        var plain = o
        plain.clientID = "plain"
        plain.tls = nil
        #expect(try connects(plain, timeout: 1.5).0 == false)
    }

    /// A central broker as deploy/mosquitto/central-broker.conf describes it for certificates: TLS,
    /// a client certificate required, its common name the identity the shipped ACL applies to.
    @Test func aCertificateIsTheIdentityAndOneFromAnotherCAIsRefused() throws {
        let pki = try Self.makePKI(in: try TemporaryDirectory.make(prefix: "pki"), clientName: "plant-a/gw-1")
        let other = try Self.makePKI(in: try TemporaryDirectory.make(prefix: "pki-other"), clientName: "plant-a/gw-1")
        let broker = try MosquittoBroker(extraConfig: "log_type debug", listenerOptions: """
            cafile \(pki.ca)
            certfile \(pki.serverCert)
            keyfile \(pki.serverKey)
            require_certificate true
            use_identity_as_username true
            acl_file \(packageRoot.appendingPathComponent("deploy/mosquitto/central-broker.acl").path)
            """, allowAnonymous: false)
        defer { broker.stop() }
        var o = MQTTConnectionOptions(port: broker.port, clientID: "gw-1", reconnect: .init(initial: 0.1, maximum: 0.3))
        o.protocolVersion = .v5  // as the edge's uplink: a refused publish is a PUBACK reason code
        o.tls = .init(caFile: pki.ca, certFile: pki.clientCert, keyFile: pki.clientKey)

        // A certificate with the same name from another CA: refused at the handshake.
        var forged = o
        forged.clientID = "forged"
        forged.tls = .init(caFile: pki.ca, certFile: other.clientCert, keyFile: other.clientKey)
        #expect(try connects(forged, timeout: 1.5).0 == false)
        // A client that trusts another CA refuses this broker (the server certificate is verified).
        var wrongTrust = o
        wrongTrust.clientID = "wrong-trust"
        wrongTrust.tls = .init(caFile: other.ca, certFile: other.clientCert, keyFile: other.clientKey)
        #expect(try connects(wrongTrust, timeout: 1.5).0 == false)

        // The genuine certificate connects, as plant-a/gw-1: its own events go through, another edge's are
        // refused. (Its own first: libmosquitto 2.0.11 drops the connection after a refused publish's
        // PUBACK, and reconnects.)
        let c = try MQTTClient(options: o, onMessage: { _ in })
        c.start()
        defer { c.stopBlocking() }
        let log = { (try? String(contentsOfFile: broker.directory.appendingPathComponent("mosquitto.log").path, encoding: .utf8)) ?? "" }
        let lines = { (marker: String, topic: String) in log().split(separator: "\n").filter { $0.contains(marker) && $0.contains("'\(topic)'") } }
        let own = "millwright/v1/plant-a/gw-1/events", anotherEdges = "millwright/v1/plant-a/gw-2/events"
        #expect(eventually { c.isConnected && (try? c.publish(topic: own, payload: Array("x".utf8), qos: 1)) != nil })
        #expect(eventually { !lines("Received PUBLISH from gw-1", own).isEmpty }, "\(log().suffix(1500))")
        #expect(eventually { c.isConnected && (try? c.publish(topic: anotherEdges, payload: Array("x".utf8), qos: 1)) != nil })
        #expect(eventually { !lines("Denied PUBLISH from gw-1", anotherEdges).isEmpty }, "\(log().suffix(1500))")
        #expect(lines("Denied PUBLISH", own).isEmpty, "its own topic was never refused")
        #expect(log().contains("as gw-1") && log().contains("u'plant-a/gw-1'"), "the certificate's common name is the username")
    }

    @Test func usernameAndPassword() throws {
        let dir = try TemporaryDirectory.make(prefix: "auth")
        let pwfile = dir.appendingPathComponent("passwd").path
        try Executables.run("mosquitto_passwd", ["-b", "-c", pwfile, "edge", "s3cret"])
        chmod(pwfile, 0o644)
        let broker = try MosquittoBroker(listenerOptions: "password_file \(pwfile)", allowAnonymous: false)
        defer { broker.stop() }
        var o = MQTTConnectionOptions(port: broker.port, clientID: "auth-ok", username: "edge", password: "s3cret",
                                      reconnect: .init(initial: 0.1, maximum: 0.3))
        #expect(try connects(o).0)
        o.clientID = "auth-bad"
        o.password = "wrong"
        let (ok, events) = try connects(o, timeout: 1.5)
        #expect(!ok)
        #expect(events.contains { if case .refused = $0 { true } else { false } }, "a bad password is reported as refused: \(events)")
    }
}
