import Foundation
import Logging
import MillwrightCore
import MQTTClient
import ServiceLifecycle

/// Takes inspection results (`InspectionResult`) published on `mes.inspections` and books each
/// (`QualityBook`): a failed one holds its lot in the ERP, a passed one releases it. A message is
/// acknowledged to the broker only once booked or refused.
public final class InspectionListener: Service, MQTTIntakeHandler {
    let options: MQTTConnectionOptions
    let topic: String
    public let book: QualityBook
    let logger: Logger

    public init(options: MQTTConnectionOptions, topic: String, book: QualityBook, logger: Logger) {
        self.options = options
        self.topic = topic
        self.book = book
        self.logger = logger
    }

    public var stats: ConfirmationBook.Stats { book.stats }

    public func run() async throws {
        try await MQTTIntake(options: options, name: "inspections", topic: topic, handler: self, logger: logger).run()
    }

    public func decode(_ m: MQTTMessage) -> InspectionResult? {
        switch InspectionResult.decode(m.payload) {
        case .success(let r): return r
        case .failure(let refusal):
            book.refused(refusal, id: nil, source: "mqtt \(m.topic.prefix(200))")
            return nil
        }
    }

    public func take(_ r: InspectionResult) async throws {
        _ = try await book.book(r)
    }
}
