import Foundation
import Testing
import TestSupport

/// The delivery fault suite, short mode: an independent publisher (paho-mqtt) offers QoS 1
/// readings with sensor time at 5,000/s through a plant mosquitto into the real edge, which is
/// SIGKILLed several times while the central is SIGKILLed and its leg cut. Every reading the plant
/// broker acknowledged must be stored at the central exactly once. The long mode (200 and more
/// edge kills) is `scripts/delivery-faults`; results in docs/DELIVERY.md.
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
    }

    @Test func everyAcknowledgedReadingArrivesOnceThroughEdgeAndCentralCrashes() throws {
        let script = packageRoot.appendingPathComponent("Tests/Fixtures/delivery/delivery_faults.py").path
        let bin = packageRoot.appendingPathComponent(".build/debug").path
        let run = try Executables.run("python3", [script, "--bin", bin, "--readings", "20000", "--rate", "5000",
                                                  "--edge-kills", "6", "--central-kills", "1", "--central-outages", "1"])
        let line = run.output.split(separator: "\n").last.map(String.init) ?? ""
        let r = try JSONDecoder().decode(Result.self, from: Data(line.utf8))
        #expect(r.edge_kills == 6 && r.central_kills == 1 && r.central_leg_outages == 1, "faults injected: \(line)")
        #expect(r.acknowledged_by_plant_broker == r.readings_offered, "\(line)")
        #expect(r.lost == 0, "\(line)")
        #expect(r.duplicated == 0, "\(line)")
        #expect(run.status == 0, "\(line)")
    }
}
