import EdgeConfig
import Foundation
import Logging
import ServiceLifecycle
import Testing
import TestSupport
@testable import EdgeAgent

/// A service that throws must end the whole agent promptly (and `main` then exits non-zero): every
/// other service ends on cancellation, not only on graceful shutdown. Before, the clock, uplink and
/// simulator loops spun at full CPU after the group was cancelled and the process never exited.
@Suite struct LifecycleTests {
    struct Boom: Error {}

    /// Fails once the agent's writer runs, so the others have started and must be brought down.
    struct FailingService: Service {
        let writer: EventWriter

        func run() async throws {
            await writer.waitUntilRunning()
            throw Boom()
        }
    }

    // A hang (the old spinning loops never ended) hits the time limit. The limit is generous because
    // Swift Testing runs suites concurrently on a small cooperative pool that other tests' blocking
    // waits can starve on a loaded 2-core machine; alone the group ends in under a second.
    @Test(.timeLimit(.minutes(5))) func aFailingServiceEndsEveryServicePromptly() async throws {
        let dir = try TemporaryDirectory.make(prefix: "lifecycle")
        defer { try? FileManager.default.removeItem(at: dir) }
        // Nothing listens on these ports: clients keep retrying, which must not keep the group alive.
        let plantPort = try FreePort.find(), centralPort = try FreePort.find()
        let path = dir.appendingPathComponent("edge.yaml").path
        try (plantYAML(port: plantPort, dataDir: dir.appendingPathComponent("data").path)
            + "\nuplink: { port: \(centralPort), client_id: lifecycle-uplink }\n").write(toFile: path, atomically: true, encoding: .utf8)
        let config = try EdgeConfiguration.load(file: path)
        var options = EdgeAgent.Options(configPath: path)
        var sim = SensorSimulator.Options()
        sim.port = plantPort
        options.simulator = sim
        let agent = try EdgeAgent(config: config, options: options, logger: Logger(label: "lifecycle"))
        #expect(agent.uplink != nil && agent.simulator != nil, "every looping service takes part")
        let group = ServiceGroup(configuration: .init(services: (agent.services + [FailingService(writer: agent.writer)]).map { .init(service: $0) },
                                                      logger: Logger(label: "lifecycle")))
        let started = ContinuousClock.now
        // A hang would block here; the suite's time limit turns it into a failure.
        await #expect(throws: Boom.self) { try await group.run() }
        let took = ContinuousClock.now - started
        #expect(took < .seconds(240), "the group took \(took) to end after a service failed")
    }
}
