import Foundation
import Logging
import MillwrightCore
import MQTTClient
import ServiceLifecycle

/// Publishes postings to a plant's unified namespace (QoS 1) on a topic rendered from the payload,
/// for example `plant/{site}/{equipment}/escalations`. Subscribers deduplicate on `key` in the body.
///
/// Why it waits: a posting is delivered when the broker has acknowledged it (PUBACK), within
/// `postings.timeout`; a publish the broker did not take in that time has failed and is retried with
/// the same key, so a subscriber may see it twice (and deduplicates), never not at all.
///
/// Its connection is a service of the central: it connects when built (so the first posting finds
/// it up) and disconnects cleanly on shutdown, after the dispatcher that uses it has stopped.
public final class MQTTPublishConnector: PostingConnector, Service {
    let client: MQTTClient
    let acknowledgements: PublishAcknowledgements
    let topic: String
    let template: String?
    let retain: Bool
    let timeout: Millis

    public init(options: MQTTConnectionOptions, topic: String, template: String?, retain: Bool = false, timeout: Millis, logger: Logger) throws {
        let acknowledgements = PublishAcknowledgements()
        self.acknowledgements = acknowledgements
        client = try MQTTClient(options: options, logger: logger, onMessage: { _ in }, onPublished: { acknowledgements.acknowledged($0) })
        self.topic = topic
        self.template = template
        self.retain = retain
        self.timeout = timeout
        client.start()
    }

    public func deliver(_ posting: Posting) async -> DeliveryOutcome {
        let t = PayloadTemplate.renderPath(topic, payload: posting.payload)
        let body = template.map { PayloadTemplate.renderBody($0, payload: posting.payload) } ?? posting.payload
        let mid: Int32
        do {
            mid = try client.publish(topic: t, payload: Array(body.utf8), qos: 1, retain: retain)
        } catch {
            return .failed("cannot publish to \(t): \(error)")
        }
        guard await acknowledgements.wait(for: mid, timeout: timeout.duration) else {
            return .failed("the broker did not acknowledge the publish to \(t) within \(timeout) (postings.timeout); retried with the same key")
        }
        return .delivered(documentRef: "mqtt:\(t)#\(posting.idempotencyKey)", note: "published, acknowledged by the broker")
    }

    /// Holds the connection until graceful shutdown or cancellation, then disconnects.
    public func run() async throws {
        try? await gracefulShutdown()
        await stop()
    }

    public func stop() async { await client.stop() }
}
