import Foundation
import Testing
import TestSupport

/// The delivery fault suite, short mode: an independent publisher (paho-mqtt) offers QoS 1
/// readings with sensor time at 5,000/s through a plant mosquitto into the real edge, which is
/// SIGKILLed several times while the central is SIGKILLed, its leg cut and the plant broker itself
/// SIGKILLed (after which the publisher offers its last 10 s of readings again, in order, as a
/// buffering source does). Every reading the plant broker acknowledged must be stored at the central
/// exactly once, on either store backend. The long mode (200 and more edge kills) is
/// `scripts/delivery-faults`; results in docs/DELIVERY.md. Once more (main pass) with both brokers
/// locked down as deploy/mosquitto ships them, over TLS: identities, the shipped ACLs, verified certificates.
@Suite("Delivery fault suite (short mode)", .serialized)
struct DeliveryFaultSuiteTests {
    struct Result: Decodable {
        var readings_offered: Int
        var acknowledged_by_plant_broker: Int
        var stored_at_central: Int
        var lost: Int
        var duplicated: Int
        var edge_kills: Int
        var central_kills: Int
        var central_leg_outages: Int
        var plant_kills: Int
        var replayed_after_plant_kills: Int
        var secure: Bool
    }

    /// The locked-down round runs in the main pass only (the brokers are the point, not the store).
    static var modes: [Bool] { CentralProcess.backend == "postgresql" ? [false] : [false, true] }

    @Test(arguments: modes)
    func everyAcknowledgedReadingArrivesOnceThroughEdgeBrokerAndCentralCrashes(secure: Bool) throws {
        let script = packageRoot.appendingPathComponent("Tests/Fixtures/delivery/delivery_faults.py").path
        let bin = packageRoot.appendingPathComponent(".build/debug").path
        var args = [script, "--bin", bin, "--readings", "20000", "--rate", "5000",
                    "--edge-kills", "6", "--central-kills", "1", "--central-outages", "1", "--plant-kills", "2"] + (secure ? ["--secure"] : [])
        // With MILLWRIGHT_TEST_STORE=postgresql (the test command's second pass) the central keeps
        // its data in a fresh database of the tests' PostgreSQL.
        if CentralProcess.backend == "postgresql" {
            let server = try PostgresServer.shared()
            args += ["--pg-port", "\(server.port)", "--pg-database", try server.createDatabase()]
        }
        let run = try Executables.run(Python.executable, args, withStderr: true)
        let line = run.output.split(separator: "\n").last.map(String.init) ?? ""
        let r = try #require(try? JSONDecoder().decode(Result.self, from: Data(line.utf8)),
                             "no result line; the harness said:\n\(run.output.split(separator: "\n").suffix(30).joined(separator: "\n"))")
        #expect(r.edge_kills == 6 && r.central_kills == 1 && r.central_leg_outages == 1 && r.plant_kills == 2,
                "faults injected: \(line)")
        #expect(r.replayed_after_plant_kills > 0, "\(line)")
        #expect(r.secure == secure)
        #expect(r.acknowledged_by_plant_broker == r.readings_offered, "\(line)")
        #expect(r.lost == 0, "\(line)")
        #expect(r.duplicated == 0, "\(line)")
        #expect(run.status == 0, "\(line)")
    }
}
