import Foundation
import Logging
import MQTTClient
import ServiceLifecycle

/// Subscribes to one topic on the central's broker at QoS 1 and hands each message to a handler:
/// decoded on the MQTT thread, recorded in arrival order by one task, and acknowledged to the
/// broker only once recorded (`RecordedGate`). A store failure is retried with a growing pause (1 s
/// to 30 s, up to `maxAttempts`) while later messages wait at the broker, so nothing is lost to a
/// database restart.
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

    /// What the recording task takes from the MQTT thread: a message (nil when refused), or the
    /// sign that the intake is stopping.
    enum Slot: Sendable {
        case message(Handler.Item?)
        case stop
    }

    /// A message the store keeps refusing is given up after this many attempts (about 8 minutes):
    /// logged at error level and acknowledged, so it cannot hold back every later message forever.
    static var maxAttempts: Int { 20 }

    public func run() async throws {
        let gate = RecordedGate(window: options.receiveMaximum)
        let (slots, sink) = AsyncStream.makeStream(of: Slot.self)
        let handler = self.handler
        let client = try MQTTClient(options: options, logger: logger, gate: gate, onMessage: { m in
            gate.handOver()
            sink.yield(.message(handler.decode(m)))
        })
        try client.subscribe(topic, qos: 1)
        client.start()
        // On graceful shutdown reading stops, what was read is recorded, and its acknowledgements
        // go out with the disconnect; on cancellation the loop ends at once (unrecorded messages
        // come again from the session).
        await withGracefulShutdownHandler {
            loop: for await slot in slots {
                switch slot {
                case .stop:
                    if gate.isDrained { break loop }
                case .message(let item):
                    if let item {
                        guard await recordRetrying(item) else { break loop }
                    }
                    gate.recordedOne()
                    if gate.isDrained { break loop }
                }
            }
        } onGracefulShutdown: {
            gate.close()
            sink.yield(.stop)
        }
        sink.finish()
        await client.stop()
    }

    /// False when stopped before the item could be recorded (it stays unacknowledged).
    func recordRetrying(_ item: Handler.Item) async -> Bool {
        var pause = Duration.seconds(1)
        for attempt in 1...Self.maxAttempts {
            do {
                try await handler.take(item)
                return true
            } catch {
                if attempt == Self.maxAttempts {
                    logger.error("a message from \(topic) could not be recorded in \(attempt) attempts; given up so later ones are not held back",
                                 metadata: ["error": "\(error)"])
                    return true
                }
                logger.error("cannot record a message from \(topic); trying again (the broker keeps the rest)",
                             metadata: ["error": "\(error)", "retry_in": "\(pause)", "attempt": "\(attempt)"])
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
        return true
    }
}
