import ArgumentParser
import ConfigSupport
import EdgeAgent
import EdgeConfig
import Foundation
import Logging
import MQTTClient
import ServiceLifecycle

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the agent until SIGTERM or SIGINT; SIGHUP or a file change reloads the configuration.")

    @Option(name: .shortAndLong, help: "The edge configuration file (YAML); default /etc/millwright/edge.yaml or $MILLWRIGHT_EDGE_CONFIG.")
    var config: String?

    @Option(help: "Print promoted events as they are committed: none, text or json.")
    var events: EdgeAgent.EventOutput = .none

    @Flag(help: "Also run the built-in sensor simulator against the first broker.")
    var simulate = false

    @Option(help: "Simulated machines.")
    var simulateMachines = 4

    @Option(help: "Simulated readings per machine per second.")
    var simulateRate = 1.0

    @Option(help: "The simulator's username on the first broker (its identity there; the broker's TLS settings are reused).")
    var simulateUsername: String?

    @Option(help: "A file holding the simulator's password on the first broker.")
    var simulatePasswordFile: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    @Flag(help: "Commit with synchronous=NORMAL instead of FULL (faster, may lose the last commits on power loss).")
    var synchronousNormal = false

    // Benchmarks only (bench/ingest-burst measures the cost of acknowledging after commit against it):
    // libmosquitto's own behaviour, a PUBACK on receipt, which loses acknowledged readings on a crash.
    @Flag(help: .hidden)
    var unsafeAcknowledgeOnReceipt = false

    func run() async throws {
        MQTTLibrary.initialize()
        let level = logLevel
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        let logger = Logger(label: "millwright-edge")
        let cfg: EdgeConfiguration
        let path: String
        do {
            path = try edgeConfigPath(config)
            cfg = try EdgeConfiguration.load(file: path)
            for w in cfg.warnings { logger.warning("configuration: \(w)") }
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode(2)
        }
        var options = EdgeAgent.Options(configPath: path)
        options.eventOutput = events
        options.synchronousFull = !synchronousNormal
        options.acknowledgeAfterCommit = !unsafeAcknowledgeOnReceipt
        if simulate, let broker = cfg.brokers.first {
            var sim = SensorSimulator.Options()
            sim.host = broker.options.host
            sim.port = broker.options.port
            sim.tls = broker.options.tls
            sim.username = simulateUsername
            if let file = simulatePasswordFile {
                do {
                    sim.password = try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
                } catch {
                    throw ValidationError("--simulate-password-file: cannot read \(file): \(error.localizedDescription)")
                }
                if simulateUsername == nil { throw ValidationError("--simulate-password-file needs --simulate-username") }
            }
            sim.machines = simulateMachines
            sim.rate = simulateRate
            options.simulator = sim
        }
        let agent = try EdgeAgent(config: cfg, options: options, logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: agent.services.map { .init(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
        logger.info("edge agent stopped", metadata: ["events_committed": "\(agent.writer.stats.eventsCommitted)"])
    }
}

extension EdgeAgent.EventOutput: ExpressibleByArgument {}
extension Logger.Level: @retroactive ExpressibleByArgument {}
