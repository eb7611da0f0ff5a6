import Foundation
import Logging
import MillwrightCore
import MQTTClient
import ServiceLifecycle

/// A built-in plant: machines publishing temperature (JSON), a 16-bit part counter
/// (plain number) and a state code, with excursions, downtime, counter wraps and the
/// odd malformed message, so every rule has something to promote within a minute.
public struct SensorSimulator: Service {
    public struct Options: Sendable {
        public var host = "127.0.0.1"
        public var port = 1883
        public var topicPrefix = "demo/line1"
        public var machines = 4
        /// Readings per machine per second.
        public var rate = 1.0
        public var seed: UInt64 = 42
        /// The simulator's identity on a broker that requires one (the demo's plant broker does).
        public var username: String?
        public var password: String?
        public var tls: MQTTConnectionOptions.TLS?

        public init() {}
    }

    let options: Options
    let logger: Logger

    public init(options: Options, logger: Logger) {
        self.options = options
        self.logger = logger
    }

    struct Machine {
        var name: String
        var temperature = 60.0
        var excursionLeft = 0
        var parts: UInt32 = 65_000
        var state = 1
        var stateLeft = 30
    }

    public func run() async throws {
        var connection = MQTTConnectionOptions(host: options.host, port: options.port, clientID: "millwright-simulator-\(getpid())")
        connection.username = options.username
        connection.password = options.password
        connection.tls = options.tls
        let client = try MQTTClient(options: connection, logger: logger, onMessage: { _ in })
        client.start()
        logger.info("sensor simulator publishing", metadata: [
            "broker": "\(options.host):\(options.port)", "machines": "\(options.machines)", "prefix": "\(options.topicPrefix)",
        ])
        var rng = SplitMix64(seed: options.seed)
        var machines = (1...options.machines).map { i in
            var m = Machine(name: "press-\(i < 10 ? "0" : "")\(i)")
            // Staggered so the machines do not change state in lockstep.
            m.stateLeft = 8 + Int(rng.unit() * 40)
            m.parts = 65_000 + UInt32(rng.unit() * 400)
            return m
        }
        // One early overheat, so a new user sees a limit alarm within seconds.
        if machines.count > 1 { machines[1].excursionLeft = 8 }
        var step = 0
        let period = Duration.milliseconds(Int64(1000 / max(options.rate, 0.01)))
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            guard client.isConnected else {
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(100)) }
                continue
            }
            let now = Timestamp.now().milliseconds
            for i in machines.indices {
                var m = machines[i]
                advance(&m, &rng)
                let base = "\(options.topicPrefix)/\(m.name)"
                publish(client, "\(base)/temperature", "{\"value\":\(String(format: "%.2f", m.temperature)),\"ts\":\(now)}")
                publish(client, "\(base)/parts", "\(m.parts)")
                publish(client, "\(base)/state", "\(m.state)")
                machines[i] = m
            }
            step += 1
            if step % 45 == 0 {
                // A sensor firmware bug, so the quarantine has something to show.
                publish(client, "\(options.topicPrefix)/\(machines[0].name)/temperature", "{\"value\": \"ERR\", \"ts\": \(now)}")
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: period) }
        }
        await client.stop()
    }

    private func advance(_ m: inout Machine, _ rng: inout SplitMix64) {
        if m.excursionLeft > 0 {
            m.excursionLeft -= 1
            m.temperature = min(100, m.temperature + rng.unit() * 6)
        } else {
            m.temperature += (60 - m.temperature) * 0.3 + (rng.unit() - 0.5) * 2
            if rng.unit() < 0.02 { m.excursionLeft = 4 + Int(rng.unit() * 6) }
        }
        m.stateLeft -= 1
        if m.stateLeft <= 0 {
            let r = rng.unit()
            if m.state != 1 { m.state = 1; m.stateLeft = 20 + Int(rng.unit() * 40) } else if r < 0.5 {
                m.state = 2; m.stateLeft = 3 + Int(rng.unit() * 5)
            } else {
                m.state = rng.unit() < 0.5 ? 3 : 4; m.stateLeft = 5 + Int(rng.unit() * 10)
            }
        }
        if m.state == 1 { m.parts &+= UInt32(rng.unit() * 4) }
        m.parts &= 0xFFFF  // A 16-bit PLC counter: it wraps within a few minutes.
    }

    private func publish(_ client: MQTTClient, _ topic: String, _ payload: String) {
        // QoS 0 while disconnected is dropped, as a real sensor's reading would be.
        _ = try? client.publish(topic: topic, payload: Array(payload.utf8), qos: 0)
    }
}

/// SplitMix64: a tiny deterministic generator, so a seed gives the same plant (or the same
/// benchmark event mix) every run.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// A uniform number in [0, 1).
    public mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
