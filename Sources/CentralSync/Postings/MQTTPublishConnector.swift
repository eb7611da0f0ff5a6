import Foundation
import Logging
import MillwrightCore
import MQTTClient

/// Publishes postings to a plant's unified namespace (QoS 1) on a topic rendered from the payload,
/// for example `plant/{site}/{equipment}/escalations`. Subscribers deduplicate on `key` in the body.
public final class MQTTPublishConnector: PostingConnector {
    let client: MQTTClient
    let topic: String
    let template: String?

    public init(options: MQTTConnectionOptions, topic: String, template: String?, logger: Logger) throws {
        client = try MQTTClient(options: options, logger: logger, onMessage: { _ in })
        self.topic = topic
        self.template = template
        client.start()
    }

    public func deliver(_ posting: Posting) async -> DeliveryOutcome {
        let t = PayloadTemplate.renderPath(topic, payload: posting.payload)
        let body = template.map { PayloadTemplate.renderBody($0, payload: posting.payload) } ?? posting.payload
        do {
            try client.publish(topic: t, payload: Array(body.utf8), qos: 1)
            return .delivered(documentRef: "mqtt:\(t)#\(posting.idempotencyKey)", note: "published")
        } catch {
            return .failed("cannot publish to \(t): \(error)")
        }
    }

    public func stop() { client.stop() }
}
