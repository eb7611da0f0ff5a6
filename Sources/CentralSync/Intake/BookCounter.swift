import Logging
import Synchronization

/// The counts of a book (booked, resends, refusals by reason) and the log line of each.
///
/// Why one type: `ConfirmationBook` and `QualityBook` count and log alike; only what they call
/// their items differs ("MES confirmation", "inspection result").
final class BookCounter: Sendable {
    let counts = Mutex(ConfirmationBook.Stats())
    let noun: String
    let logger: Logger

    init(noun: String, logger: Logger) {
        self.noun = noun
        self.logger = logger
    }

    var stats: ConfirmationBook.Stats { counts.withLock { $0 } }

    func booked(_ metadata: Logger.Metadata) {
        counts.withLock { $0.booked += 1 }
        logger.info("\(noun) booked", metadata: metadata)
    }

    func duplicate(id: String) {
        counts.withLock { $0.duplicates += 1 }
        logger.info("\(noun) sent again: already booked", metadata: ["id": "\(id)"])
    }

    func refused(_ r: ConfirmationRefusal, id: String?, source: String?) {
        counts.withLock { $0.refused[r.name, default: 0] += 1 }
        logger.warning("\(noun) refused: nothing booked", metadata: [
            "id": "\(id?.prefix(200) ?? "-")", "reason": "\(r)", "source": "\(source ?? "mqtt")"])
    }
}
