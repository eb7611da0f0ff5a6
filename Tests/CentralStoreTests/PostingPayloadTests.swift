import CentralSync
import Foundation
import MillwrightCore
import Testing

/// Typed posting payloads: what the reconciliation writes decodes back to the same value, and an
/// operator's edit that does not fit its kind is refused with the field and the reason, before a
/// replay, instead of a dead letter at the target later.
@Suite struct PostingPayloadTests {
    static let move = MovePayload(
        key: "consumption:1//consumption/STEEL/0:r1", kind: .consumption, orderID: 1, orderNumber: "MO1", orderReference: "PO-1",
        companyID: 1, quantity: 4.5, postingDate: "2025-11-24", eventTime: Timestamp(milliseconds: 1_764_000_000_123), revision: 1,
        line: "1//consumption/STEEL/0", events: 2, productID: 8, productCode: "STEEL", unitID: 2, fromLocationID: 3, toLocationID: 7,
        direction: .issue)

    /// The move as JSON, with `change` applied to its fields.
    func edited(_ change: (inout [String: Any]) -> Void) throws -> String {
        var fields = try #require(try JSONSerialization.jsonObject(with: Data(Self.move.encoded().utf8)) as? [String: Any])
        change(&fields)
        return String(decoding: try JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys]), as: UTF8.self)
    }

    func refusal(_ payload: String, kind: PostingKind = .consumption, key: String = move.key) -> PayloadError? {
        do {
            try kind.validate(payload: payload, key: key)
            return nil
        } catch {
            return error
        }
    }

    @Test func aMoveRoundTripsAndReadsAsBefore() throws {
        let text = try Self.move.encoded()
        #expect(try MovePayload.decode(text, as: .consumption) == Self.move)
        // The field names and forms operators, templates and the docs know.
        #expect(text.contains(#""order_id":1"#) && text.contains(#""posting_date":"2025-11-24""#)
                && text.contains(#""event_time":"2025-11-24T16:00:00.123Z""#) && text.contains(#""direction":"issue""#)
                && text.contains(#""correction":false"#) && !text.contains("unit_price"), "\(text)")
        #expect(refusal(text) == nil)
    }

    @Test func anEditThatDoesNotFitIsRefusedWithTheField() throws {
        #expect(refusal(try edited { $0["quantty"] = 5 }) == .unknownField(.consumption, "quantty", hint: #" (did you mean "quantity"?)"#))
        #expect(refusal(try edited { $0["order_id"] = nil }) == .missing(.consumption, field: "order_id"))
        #expect(refusal(try edited { $0["quantity"] = "5" }) == .wrongType(.consumption, field: "quantity", expected: "a number"))
        #expect(refusal(try edited { $0["to_location_id"] = NSNull() })
                == .wrongType(.consumption, field: "to_location_id", expected: "a whole number, not null"))
        #expect(refusal(try edited { $0["direction"] = nil }) == .missing(.consumption, field: "direction"))
        for bad in [0.0, -3] {
            guard case .invalid(_, "quantity", _)? = refusal(try edited { $0["quantity"] = bad }) else {
                Issue.record("quantity \(bad) was not refused"); continue
            }
        }
        guard case .invalid(_, "posting_date", _)? = refusal(try edited { $0["posting_date"] = "24.11.2025" }) else {
            Issue.record("a day in another format was not refused"); return
        }
        guard case .invalid(_, "to_location_id", _)? = refusal(try edited { $0["to_location_id"] = 0 }) else {
            Issue.record("id 0 was not refused"); return
        }
    }

    @Test func anEditKeepsTheKindAndTheKey() throws {
        // A changed key would let the target book the move a second time (its lookup goes by key).
        let rekeyed = refusal(try edited { $0["key"] = "consumption:other" })
        guard case .invalid(.consumption, "key", let why)? = rekeyed else { Issue.record("\(String(describing: rekeyed))"); return }
        #expect(why.contains("twice"))
        guard case .invalid(_, "kind", _)? = refusal(try edited { $0["kind"] = "yield" }) else {
            Issue.record("a changed kind was accepted"); return
        }
        // The same text checked as another kind names that kind.
        guard case .invalid(.yield, "kind", _)? = refusal(try Self.move.encoded(), kind: .yield) else {
            Issue.record("a consumption payload passed as yield"); return
        }
        #expect(refusal("[]") == .notAnObject(.consumption))
        guard case .notJSON? = refusal("{\"key\": ") else { Issue.record("broken JSON was accepted"); return }
    }

    @Test func anEventNoticeCarriesTheEventsValuesFlatAndTheFixedFieldsWin() throws {
        let at = Timestamp(milliseconds: 1_764_000_000_000)
        let envelope = EventEnvelope(eventID: "e1", site: "plant-a", edge: "gw-1", equipment: "press-1", signal: "machine_state",
                                     type: .downtime, priority: .state, occurredAt: at, timeSource: .sensor, edgeReceivedAt: at,
                                     values: ["duration_s": 65, "reason": "jam", "key": "not the key"], rule: "state.downtime",
                                     bootEpoch: 3, seq: 42)
        let p = EventNoticePayload(key: "maintenance_notification:gw-1:3:42", kind: .maintenanceNotification, envelope: envelope,
                                   occurredAt: envelope.occurredAt, workCenter: "WC-PRESS", orderID: nil, orderNumber: nil, orderReference: nil)
        let text = try p.encoded()
        let fields = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(fields["duration_s"] as? Int == 65 && fields["reason"] as? String == "jam" && fields["event"] as? String == "gw-1:3:42")
        #expect(fields["key"] as? String == "maintenance_notification:gw-1:3:42", "an event value never replaces a fixed field")
        #expect(fields["order_id"] == nil)
        #expect(try EventNoticePayload.decode(text, as: .maintenanceNotification) == p)
        #expect(refusal(text, kind: .maintenanceNotification, key: p.key) == nil)
        #expect(refusal(text.replacingOccurrences(of: #""event_type":"downtime""#, with: #""event_type":"downtme""#),
                        kind: .maintenanceNotification, key: p.key) != nil, "an unknown event type")
    }

    @Test func everyRoutableKindHasAPayloadTypeThatRefusesAnEmptyObject() {
        for kind in PostingKind.allCases {
            #expect(refusal("{}", kind: kind, key: "k") != nil, "\(kind)")
        }
        #expect(PostingKind.routable.count == PostingKind.allCases.count - 1 && !PostingKind.routable.contains(.planningSnapshot))
    }
}
