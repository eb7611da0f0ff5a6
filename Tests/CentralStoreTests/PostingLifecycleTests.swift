import CentralSync
import MillwrightCore
import Testing

/// The posting state machine, every state against every transition: what is allowed, what it
/// changes, what it audits. The backends only persist these decisions (PostingClaimTests and the
/// synchronisation suites check them on PostgreSQL and SQLite).
@Suite struct PostingLifecycleTests {
    let now = Timestamp(milliseconds: 1_764_000_100_000)

    /// A yield move of `quantity`, as the reconciliation writes it.
    static func move(_ quantity: Double) -> String {
        let p = MovePayload(key: "k", kind: .yield, orderID: 1, orderNumber: "MO1", orderReference: "PO-1", companyID: 1, quantity: quantity,
                            postingDate: "2025-11-24", eventTime: Timestamp(milliseconds: 1_764_000_000_000), revision: 1, line: "1/2/yield//0",
                            events: 3, unitPrice: 0, productID: 5, productCode: "WIDGET", unitID: 1, fromLocationID: 7, toLocationID: 3)
        return (try? p.encoded()) ?? "unencodable"
    }

    func posting(_ status: Posting.Status, attempts: Int = 2) -> Posting {
        Posting(id: 7, idempotencyKey: "k", target: "erp", kind: .yield, line: "", orderID: 1, quantity: 3, payload: Self.move(3), sources: [],
                status: status, attempts: attempts, nextAttemptAt: Timestamp(milliseconds: 1), documentRef: status == .acked ? "doc:1" : nil,
                lastError: status == .dead ? "HTTP 500" : nil, createdAt: Timestamp(milliseconds: 1), updatedAt: Timestamp(milliseconds: 1),
                claim: PostingClaim(holder: "a", generation: 3))
    }

    static let transitions: [PostingTransition] = [
        .attempt, .acknowledge(documentRef: "doc:9", note: "created"), .retry(error: "HTTP 503", at: Timestamp(milliseconds: 1_764_000_200_000)),
        .deadLetter(error: "HTTP 400"), .replay(payload: nil, actor: "alice"),
        .answer(accepted: true, reason: "scheduled", actor: "mes-1"),
    ]

    /// Allowed transitions and the status each leads to; everything else is refused.
    static let table: [Posting.Status: [String: Posting.Status]] = [
        .pending: ["attempt": .sent, "acknowledge": .acked, "retry": .pending, "dead-letter": .dead, "replay": .pending],
        .sent: ["attempt": .sent, "acknowledge": .acked, "retry": .pending, "dead-letter": .dead, "replay": .pending],
        .dead: ["replay": .pending],
        .acked: ["answer": .confirmed],
        .confirmed: [:],
    ]

    @Test(arguments: Posting.Status.allCases)
    func everyTransitionFromEveryState(_ status: Posting.Status) throws {
        for t in Self.transitions {
            let expected = Self.table[status]?[t.name]
            do {
                let change = try PostingLifecycle.decide(t, on: posting(status), now: now)
                #expect(change.status == expected, "\(status) --\(t.name)-> \(change.status)")
            } catch {
                #expect(expected == nil, "\(status) --\(t.name)-> refused: \(error)")
                switch (status, t) {
                case (.acked, .replay), (.confirmed, .replay): #expect(error == .alreadyAcknowledged(7, documentRef: status == .acked ? "doc:1" : nil))
                case (_, .answer): #expect(error == .notAwaitingAnswer(7, status: status))
                default: #expect(error == .notInDelivery(7, status: status, transition: t.name))
                }
            }
        }
    }

    /// A receiver's answer to a delivered posting: accepted confirms it, rejected makes it a dead
    /// letter with the receiver's reason; both are audited under the receiver's name.
    @Test func aReceiversAnswerConfirmsOrRejects() throws {
        let accepted = try PostingLifecycle.decide(.answer(accepted: true, reason: "scheduled for shift 2", actor: "mes-1"), on: posting(.acked), now: now)
        #expect(accepted.status == .confirmed && accepted.documentRef == "doc:1" && accepted.lastError == nil)
        #expect(accepted.audit == [.init("mes-1", .accepted, "scheduled for shift 2")])
        let rejected = try PostingLifecycle.decide(.answer(accepted: false, reason: "routing unknown", actor: "mes-1"), on: posting(.acked), now: now)
        #expect(rejected.status == .dead && rejected.lastError == "rejected by mes-1: routing unknown")
        #expect(rejected.audit == [.init("mes-1", .rejected, "routing unknown")])
    }

    @Test func whatEachTransitionChangesAndAudits() throws {
        let attempt = try PostingLifecycle.decide(.attempt, on: posting(.pending), now: now)
        #expect(attempt.attempts == 3 && !attempt.endsClaim && attempt.audit.isEmpty)

        let ack = try PostingLifecycle.decide(.acknowledge(documentRef: "doc:9", note: "created"), on: posting(.sent), now: now)
        #expect(ack.documentRef == "doc:9" && ack.lastError == nil && ack.attempts == 2 && ack.endsClaim)
        #expect(ack.audit == [.init("millwright", .acked, "doc:9 created")])

        let retryAt = Timestamp(milliseconds: 1_764_000_200_000)
        let retry = try PostingLifecycle.decide(.retry(error: "HTTP 503", at: retryAt), on: posting(.sent), now: now)
        #expect(retry.nextAttemptAt == retryAt && retry.lastError == "HTTP 503" && retry.endsClaim && retry.audit.isEmpty)

        let dead = try PostingLifecycle.decide(.deadLetter(error: "HTTP 400"), on: posting(.sent), now: now)
        #expect(dead.lastError == "HTTP 400" && dead.endsClaim && dead.audit == [.init("millwright", .deadLettered, "HTTP 400")])

        let replay = try PostingLifecycle.decide(.replay(payload: Self.move(2), actor: "alice"), on: posting(.dead), now: now)
        #expect(replay.attempts == 0 && replay.nextAttemptAt == now && replay.payload == Self.move(2) && replay.endsClaim)
        #expect(replay.audit == [.init("alice", .payloadEdited, "before: \(Self.move(3))\nafter: \(Self.move(2))"),
                                 .init("alice", .replayed, "from dead after 2 attempts; last error: HTTP 500")])
        // The posting after the change, as a backend returns it.
        let after = posting(.dead).applying(replay, now: now)
        #expect(after.status == .pending && after.claim == nil && after.updatedAt == now && after.payload == Self.move(2))
    }

    @Test(arguments: ["[1,2]", "not json", "\"text\"", "", #"{"q":2}"#])
    func aReplayedPayloadMustFitItsKind(_ payload: String) {
        #expect(throws: PostingRefusal.self) {
            try PostingLifecycle.decide(.replay(payload: payload, actor: "alice"), on: posting(.dead), now: now)
        }
        do {
            _ = try PostingLifecycle.decide(.replay(payload: payload, actor: "alice"), on: posting(.dead), now: now)
        } catch {
            guard case .payloadInvalid = error else { Issue.record("refused for another reason: \(error)"); return }
            #expect(error.description.contains("the edited payload is refused, nothing changed: the yield payload"), "\(error)")
        }
    }

    @Test func aClaimHoldsOnlyWhileTheRowStillNamesIt() {
        let mine = PostingClaim(holder: "a", generation: 3)
        #expect(PostingLifecycle.claimHolds(mine, current: mine))
        #expect(PostingLifecycle.claimHolds(nil, current: mine), "no claim: an operator, or a single-process store")
        #expect(!PostingLifecycle.claimHolds(mine, current: PostingClaim(holder: "b", generation: 4)), "taken over")
        #expect(!PostingLifecycle.claimHolds(mine, current: PostingClaim(holder: "a", generation: 4)), "claimed again by a later round of the same holder")
        #expect(!PostingLifecycle.claimHolds(mine, current: nil), "finished or released by another")
    }
}
