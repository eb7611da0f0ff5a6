import CentralSync
import Foundation
import MillwrightCore

extension TrytonConnector {
    /// Books the time an MES confirmed as a done work cycle on the order's work: created with the
    /// posting's key (`millwright_key`, the `millwright` module's field on cycles), run, given its
    /// duration (the machine seconds, else the labour seconds) and done, which prices it from the
    /// work center's cost. Each attempt looks the key up first and finishes a cycle an earlier
    /// attempt left half way, so an answer lost after Tryton committed never doubles a cycle.
    func deliverCycle(_ p: WorkCyclePayload) async throws(TrytonError) -> DeliveryOutcome {
        let ctx = try await client.context()
        let duration = TrytonJSON.timedelta(seconds: p.machineSeconds > 0 ? p.machineSeconds : p.laborSeconds)
        let found = try await searchRead("production.work.cycle", [["millwright_key", "=", p.key]], ["id", "state"], ctx)
        if let row = found.first, let id = TrytonJSON.int(row["id"]) {
            switch row["state"] as? String {
            case "done": return .found(documentRef: "production.work.cycle:\(id)", note: "found by reference \(p.key)")
            case "cancelled":
                return .failed("work cycle \(id) with key \(p.key) was cancelled in Tryton: book the time by hand or discard this posting")
            case "draft":
                try await finish(cycle: id, run: true, duration: duration, ctx: ctx)
            default:
                try await finish(cycle: id, run: false, duration: duration, ctx: ctx)
            }
            return .delivered(documentRef: "production.work.cycle:\(id)", note: "finished a cycle an earlier attempt created" + Self.laborNote(p))
        }
        // The work must belong to the order, and the order still be open: say why before Tryton would.
        let works = try await read("production.work", [p.workID], ["production"], ctx)
        guard let work = works.first else { return .failed("work \(p.workID) does not exist in Tryton (deleted since the order was imported?)") }
        guard TrytonJSON.int(work["production"]) == p.orderID else {
            return .failed("work \(p.workID) does not belong to production \(p.orderID) in Tryton")
        }
        let state = try await read("production", [p.orderID], ["state"], ctx)
        if let s = (state.first?["state"] as? String).flatMap(OrderState.init(rawValue:)), s.isClosed {
            return .failed("production \(p.orderID) is \(s) in Tryton: no time may be booked on it")
        }
        let created = try await client.call("model.production.work.cycle.create", [[["work": p.workID, "millwright_key": p.key]], ctx])
        guard let ids = created as? [Any], let id = TrytonJSON.int(ids.first) else {
            throw .unexpectedAnswer(method: "model.production.work.cycle.create", detail: "\(created)")
        }
        try await finish(cycle: id, run: true, duration: duration, ctx: ctx)
        return .delivered(documentRef: "production.work.cycle:\(id)", note: "created and done" + Self.laborNote(p))
    }

    /// Said in the delivery's audit note: a cycle holds one duration, so labour given beside machine
    /// time is not in Tryton (timesheet lines are not supported yet; docs/SYNC.md).
    static func laborNote(_ p: WorkCyclePayload) -> String {
        p.machineSeconds > 0 && p.laborSeconds > 0 ? "; labour \(p.laborSeconds) s not booked (the cycle holds the machine time)" : ""
    }

    /// Runs (when draft), sets the duration of and closes one cycle.
    func finish(cycle id: Int64, run: Bool, duration: [String: Any], ctx: [String: Any]) async throws(TrytonError) {
        if run { _ = try await client.call("model.production.work.cycle.run", [[id], ctx]) }
        _ = try await client.call("model.production.work.cycle.write", [[id], ["duration": duration], ctx])
        _ = try await client.call("model.production.work.cycle.do", [[id], ctx])
    }
}
