import Foundation
import Logging
import MQTTClient
import ServiceLifecycle

/// Subscribes to one topic on the central's broker at QoS 1 and hands each message to a handler:
/// decoded on the MQTT thread, recorded in arrival order by one task, and acknowledged to the
/// broker only once recorded (`RecordedGate`). A store failure is retried with a growing pause (1 s
/// to 30 s) while later messages wait at the broker, so nothing is lost to a database restart.
///
/// Why one type: see `MQTTIntakeHandler`. Ends on graceful shutdown and on cancellation; a message
/// not yet recorded then is delivered again on the next start (a persistent session, `cleanStart:
/// false`; handlers are idempotent).
public struct MQTTIntake<Handler: MQTTIntakeHandler>: Sendable {
    let options: MQTTConnectionOptions
    let topic: String
    let handler: Handler
    let logger: Logger

    /// `name` is added to the broker options' client id ("<id>-<name>"): one session per intake.
    public init(options: MQTTConnectionOptions, name: String, topic: String, handler: Handler, logger: Logger) {
        var o = options
        o.clientID += "-\(name)"
        self.options = o
        self.topic = topic
        self.handler = handler
        self.logger = logger
    }

    public func run() async throws {
        let gate = RecordedGate(window: options.receiveMaximum)
        let (items, sink) = AsyncStream.makeStream(of: Handler.Item?.self)
        let handler = self.handler
        let client = try MQTTClient(options: options, logger: logger, gate: gate, onMessage: { m in
            gate.handOver()
            sink.yield(handler.decode(m))
        })
        try client.subscribe(topic, qos: 1)
        client.start()
        await withGracefulShutdownHandler {
            for await item in items {
                if let item {
                    guard await recordRetrying(item) else { break }
                }
                gate.recordedOne()
            }
        } onGracefulShutdown: {
            sink.finish()
        }
        await client.stop()
    }

    /// False when stopped before the item could be recorded (it stays unacknowledged).
    func recordRetrying(_ item: Handler.Item) async -> Bool {
        var pause = Duration.seconds(1)
        while true {
            do {
                try await handler.take(item)
                return true
            } catch {
                logger.error("cannot record a message from \(topic); trying again (the broker keeps the rest)",
                             metadata: ["error": "\(error)", "retry_in": "\(pause)"])
            }
            do {
                let wait = pause
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
            } catch {
                return false
            }
            if Task.isCancelled || Task.isShuttingDownGracefully { return false }
            pause = min(pause * 2, .seconds(30))
        }
    }
}
