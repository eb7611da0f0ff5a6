import Foundation
import Testing
import TestSupport

/// Three central replicas on one PostgreSQL behind one shared subscription, fed by a real edge at
/// 5,000 QoS 1 readings/s from an independent publisher (paho-mqtt): a replica lost for good, a
/// rolling restart, and all of them killed at once. What the central *stored* is checked, reading by
/// reading (by value), and so is how long the store paused: the longest time between two commits,
/// read from each stored event's `central_received_at`. The long mode is `scripts/delivery-faults
/// --replicas`; results in docs/BENCHMARKS.md.
@Suite("Central replica fail-over", .serialized)
struct ReplicaFailoverTests {
    struct Result: Decodable {
        var readings_offered: Int
        var acknowledged_by_plant_broker: Int
        var lost: Int
        var duplicated: Int
        var longest_store_pause_s: Double?
        var resume_after_first_return_s: Double?
        var scenario_error: String?
    }

    func run(_ scenario: String, readings: Int, at: Double = 0.3) throws -> (Result, String) {
        let server = try PostgresServer.shared()
        let script = packageRoot.appendingPathComponent("Tests/Fixtures/delivery/delivery_faults.py").path
        let bin = packageRoot.appendingPathComponent(".build/debug").path
        // The edge's shipped ack_timeout (10 s): fail-over must not wait for it.
        let args = [script, "--bin", bin, "--readings", "\(readings)", "--rate", "5000", "--edge-kills", "0", "--central-kills", "0",
                    "--central-outages", "0", "--replicas", "3", "--replica-scenario", scenario, "--scenario-at", "\(at)",
                    "--ack-timeout", "10s", "--pg-port", "\(server.port)", "--pg-database", try server.createDatabase()]
        let run = try Executables.run(Python.executable, args, withStderr: true)
        let line = run.output.split(separator: "\n").last.map(String.init) ?? ""
        let r = try #require(try? JSONDecoder().decode(Result.self, from: Data(line.utf8)),
                             "no result line; the harness said:\n\(run.output.split(separator: "\n").suffix(30).joined(separator: "\n"))")
        #expect(r.scenario_error == nil, "\(line)")
        #expect(r.acknowledged_by_plant_broker == r.readings_offered, "\(line)")
        #expect(r.lost == 0, "\(line)")
        #expect(r.duplicated == 0, "\(line)")
        #expect(run.status == 0, "\(line)")
        return (r, line)
    }

    /// Before: the lost replica's last will told every edge the central was offline, and nothing
    /// was stored until it came back (forever, for one that never does).
    @Test func aReplicaLostForGoodPausesTheStoreUnderFiveSeconds() throws {
        let (r, line) = try run("lose-one", readings: 30_000)
        let pause = try #require(r.longest_store_pause_s, "\(line)")
        #expect(pause < 5, "\(line)")
    }

    /// Each replica in turn stopped with SIGTERM (it stops taking batches, commits and acknowledges
    /// what it holds, announces itself gone) and started again.
    @Test func aRollingRestartPausesTheStoreUnderFiveSeconds() throws {
        let (r, line) = try run("rolling", readings: 40_000, at: 0.15)
        let pause = try #require(r.longest_store_pause_s, "\(line)")
        #expect(pause < 5, "\(line)")
    }

    /// All three SIGKILLed together, back after 5 s: nothing is stored meanwhile, and the store
    /// resumes within 5 s of their return.
    @Test func allReplicasKilledTogetherResumeWithinFiveSecondsOfTheirReturn() throws {
        let (r, line) = try run("kill-all", readings: 40_000)
        let resume = try #require(r.resume_after_first_return_s, "\(line)")
        #expect(resume < 5, "\(line)")
        let pause = try #require(r.longest_store_pause_s, "\(line)")
        #expect(pause < 5, "outside the outage: \(line)")
    }
}
