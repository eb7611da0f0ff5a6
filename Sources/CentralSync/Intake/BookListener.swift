import Foundation
import Logging
import MillwrightCore
import MQTTClient
import ServiceLifecycle

/// Takes the messages of one topic into a book (`IntakeBook`): decoded on the MQTT thread, booked
/// in arrival order, each acknowledged to the broker only once booked or refused (`MQTTIntake`).
/// `ConfirmationListener` (`mes.confirmations`) and `InspectionListener` (`mes.inspections`).
public final class BookListener<Book: IntakeBook>: Service, MQTTIntakeHandler {
    let options: MQTTConnectionOptions
    let topic: String
    public let book: Book
    let logger: Logger

    public init(options: MQTTConnectionOptions, topic: String, book: Book, logger: Logger) {
        self.options = options
        self.topic = topic
        self.book = book
        self.logger = logger
    }

    public var stats: ConfirmationBook.Stats { book.stats }

    public func run() async throws {
        try await MQTTIntake(options: options, name: Book.intakeName, topic: topic, handler: self, logger: logger).run()
    }

    public func decode(_ m: MQTTMessage) -> Book.Item? {
        switch Book.decode(m.payload) {
        case .success(let item): return item
        case .failure(let refusal):
            book.refused(refusal, id: nil, source: "mqtt \(m.topic.prefix(200))")
            return nil
        }
    }

    public func take(_ item: Book.Item) async throws {
        _ = try await book.book(item, now: .now())
    }
}
