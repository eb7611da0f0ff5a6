import Foundation
import Logging
import MillwrightCore
import MQTTClient
import ServiceLifecycle

/// Takes the MES's confirmations (`MESConfirmation`) published on `mes.confirmations` and books
/// each (`ConfirmationBook`): a yield move, a scrap move and a work cycle, which the dispatcher
/// delivers exactly once. A message is acknowledged to the broker only once booked or refused.
public final class ConfirmationListener: Service, MQTTIntakeHandler {
    let options: MQTTConnectionOptions
    let topic: String
    public let book: ConfirmationBook
    let logger: Logger

    public init(options: MQTTConnectionOptions, topic: String, book: ConfirmationBook, logger: Logger) {
        self.options = options
        self.topic = topic
        self.book = book
        self.logger = logger
    }

    public var stats: ConfirmationBook.Stats { book.stats }

    public func run() async throws {
        try await MQTTIntake(options: options, name: "confirmations", topic: topic, handler: self, logger: logger).run()
    }

    public func decode(_ m: MQTTMessage) -> MESConfirmation? {
        switch MESConfirmation.decode(m.payload) {
        case .success(let c): return c
        case .failure(let refusal):
            book.refused(refusal, id: nil, source: "mqtt \(m.topic.prefix(200))")
            return nil
        }
    }

    public func take(_ c: MESConfirmation) async throws {
        _ = try await book.book(c)
    }
}
