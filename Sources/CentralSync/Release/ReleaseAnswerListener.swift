import Foundation
import Logging
import MillwrightCore
import MQTTClient
import ServiceLifecycle
import Synchronization

/// Records the MES's answers to order releases (`ReleaseAnswer`, on `mes.answers`): an accepted
/// release becomes `confirmed`, a rejected one a dead letter with the MES's reason, each audited
/// with who answered. An answer that names no delivered, unanswered release changes nothing and
/// is counted by reason (`stats`, in this process) and logged. An answer is acknowledged to the
/// broker only once recorded (`MQTTIntake`).
public final class ReleaseAnswerListener: Service, MQTTIntakeHandler {
    let options: MQTTConnectionOptions
    let topic: String
    let store: any PostingOutbox
    let logger: Logger
    let counters = Mutex(Stats())

    public struct Stats: Sendable, Hashable, Codable {
        public var accepted = 0
        public var rejected = 0
        /// Answers that changed nothing, by `ReleaseAnswerRefusal.name`.
        public var refused: [String: Int] = [:]
        /// Attempts that failed because the store did (logged and tried again).
        public var storeErrors = 0
    }

    public init(options: MQTTConnectionOptions, topic: String, store: any PostingOutbox, logger: Logger) {
        self.options = options
        self.topic = topic
        self.store = store
        self.logger = logger
    }

    public var stats: Stats { counters.withLock { $0 } }

    public func run() async throws {
        try await MQTTIntake(options: options, name: "answers", topic: topic, handler: self, logger: logger).run()
    }

    public func decode(_ m: MQTTMessage) -> ReleaseAnswer? {
        switch ReleaseAnswer.decode(m.payload) {
        case .success(let answer): return answer
        case .failure(let refusal):
            refuse(refusal, topic: m.topic)
            return nil
        }
    }

    public func take(_ answer: ReleaseAnswer) async throws {
        if case .failure(.storeFailed(let error)) = await record(answer) { throw IntakeStoreError(error) }
    }

    func refuse(_ refusal: ReleaseAnswerRefusal, topic: String) {
        counters.withLock { $0.refused[refusal.name, default: 0] += 1 }
        logger.warning("MES answer changed nothing", metadata: ["topic": "\(topic.prefix(200))", "reason": "\(refusal)"])
    }

    /// Records one answer; returns the posting as it now is, or why nothing changed.
    @discardableResult
    public func record(_ answer: ReleaseAnswer, now: Timestamp = .now()) async -> Result<Posting, ReleaseAnswerRefusal> {
        do {
            guard let posting = try await store.posting(key: answer.key), posting.kind == .orderRelease else {
                let refusal = ReleaseAnswerRefusal.unknownKey(String(answer.key.prefix(200)))
                refuse(refusal, topic: topic)
                return .failure(refusal)
            }
            let accepted = answer.result == .accepted
            let updated = try await store.record(.answer(accepted: accepted, reason: answer.reason ?? "", actor: answer.by ?? "mes"),
                                                 posting: posting.id, claim: nil, now: now)
            counters.withLock { if accepted { $0.accepted += 1 } else { $0.rejected += 1 } }
            logger.info(accepted ? "the MES accepted an order release" : "the MES rejected an order release: a dead letter for an operator",
                        metadata: ["key": "\(answer.key)", "posting": "\(posting.id)", "reason": "\(answer.reason ?? "-")"])
            return .success(updated)
        } catch let refusal as PostingRefusal {
            let r = ReleaseAnswerRefusal.notAwaitingAnswer("\(refusal)")
            refuse(r, topic: topic)
            return .failure(r)
        } catch {
            counters.withLock { $0.storeErrors += 1 }
            return .failure(.storeFailed("\(error)"))
        }
    }
}
