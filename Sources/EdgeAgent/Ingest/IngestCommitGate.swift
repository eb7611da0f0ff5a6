import Foundation
import MillwrightCore
import MQTTClient

/// Lets the ingest clients acknowledge a reading to the plant broker only after the transaction
/// holding its effects (promoted events and rule state) has committed.
///
/// Sealing hands the state of every instance changed since the last save to the writer, then
/// takes a ticket for everything handed over so far; the MQTT client writes its queued PUBACKs
/// once that ticket is durable (see `DeliveryGate`).
final class IngestCommitGate: DeliveryGate {
    let pipeline: IngestPipeline
    let writer: EventWriter

    init(pipeline: IngestPipeline, writer: EventWriter) {
        self.pipeline = pipeline
        self.writer = writer
    }

    func seal(wake: @escaping @Sendable () -> Void) -> UInt64 {
        pipeline.checkpoint(now: .now())
        return writer.ticket(wake: wake)
    }

    func isDurable(_ ticket: UInt64) -> Bool { writer.isDurable(ticket) }

    var mayRead: Bool { writer.keepsUp }

    func wakeWhenReadable(_ wake: @escaping @Sendable () -> Void) { writer.wakeWhenKeepingUp(wake) }
}
