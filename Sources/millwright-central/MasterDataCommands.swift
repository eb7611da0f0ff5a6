import ArgumentParser
import CentralSync
import Foundation
import MillwrightCore
import Reconciliation

/// What the central imported from the ERP and which order runs where: the first thing to look at
/// when counts are not posted.
struct MasterData: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "master-data",
        abstract: "The imported ERP orders (works, work centers, equipment) and the assignments: which order ran where, since when, from which source.")
    @Option(name: .shortAndLong, help: "The central configuration file (YAML); default /etc/millwright/central.yaml or $MILLWRIGHT_CENTRAL_CONFIG.") var config: String?
    @Flag(help: "One JSON object per line: {\"order\": ...} then {\"assignment\": ...}.") var json = false

    func run() async throws {
        let ctx = try await SyncContext.open(config: config)
        let byID = try await ctx.store.orders()
        let orders = byID.values.sorted { $0.id < $1.id }
        let imported = try await ctx.store.orderImportTimes()
        let changes = try await ctx.store.assignmentChanges()
        let timeline = try await ctx.pass.timeline(orders: byID)
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = .sortedKeys
            for o in orders {
                let obj: [String: Any] = ["order": try JSONSerialization.jsonObject(with: try enc.encode(o)),
                                          "imported_at": imported[o.id]?.rfc3339 ?? NSNull()]
                print(String(decoding: try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys]), as: UTF8.self))
            }
            for a in timeline {
                var assignment: [String: Any] = ["equipment": a.equipment, "order_id": a.orderID, "order": byID[a.orderID]?.number ?? "",
                                                 "from": a.from.rfc3339]
                assignment["work_id"] = a.workID
                assignment["to"] = a.to?.rfc3339
                print(String(decoding: try JSONSerialization.data(withJSONObject: ["assignment": assignment], options: [.sortedKeys]), as: UTF8.self))
            }
            return
        }
        print("orders imported from the ERP: \(orders.count)")
        for o in orders {
            print("  \(o.number)\(o.reference.isEmpty ? "" : " (\(o.reference))") id \(o.id): \(o.state), \(qty(o.quantity)) \(o.productCode)"
                  + ", imported \(imported[o.id]?.rfc3339 ?? "-")")
            for w in o.works {
                print("    work \(w.id) \(w.operation.isEmpty ? "-" : w.operation) on \(w.workCenter.isEmpty ? "-" : w.workCenter)"
                      + (w.workCenterID.map { " (id \($0))" } ?? "") + " [\(w.state)]"
                      + " -> equipment \(w.equipment.isEmpty ? "none mapped" : w.equipment.joined(separator: ", "))")
            }
            if !o.plannedInputs.isEmpty {
                print("    planned inputs: " + o.plannedInputs.sorted { $0.key < $1.key }.map { "\(qty($0.value.quantity)) \($0.key)" }.joined(separator: ", "))
            }
        }
        print("assignments (what counts are attributed by):")
        for a in timeline {
            let name = byID[a.orderID].map(\.number) ?? "order \(a.orderID)"
            print("  \(a.equipment): \(name) work \(a.workID.map(String.init) ?? "-") from \(a.from.rfc3339) to \(a.to?.rfc3339 ?? "now (running)")")
        }
        print("recorded starts and stops: \(changes.count)")
        for c in changes {
            print("  \(c.at.rfc3339) \(c.equipment) \(c.action.rawValue) \(c.orderRef)\(c.operation.isEmpty ? "" : " op \(c.operation)") from \(c.source)"
                  + (c.operator.map { " (\($0))" } ?? "") + ", received \(c.receivedAt.rfc3339)")
        }
    }
}

/// Gives counts no order covered an order: an operator's start and stop on the equipment.
struct Assign: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Assign an order to equipment for a time range no order covers (see `review`); the next reconcile pass posts its counts.")
    @Option(name: .shortAndLong, help: "The central configuration file (YAML); default /etc/millwright/central.yaml or $MILLWRIGHT_CENTRAL_CONFIG.") var config: String?
    @Option(help: "The equipment, as mapped under `equipment:`.") var equipment: String
    @Option(help: "The ERP order's number or reference.") var order: String
    @Option(help: "Start, RFC 3339 (for example 2026-11-24T08:00:00Z).") var from: String
    @Option(help: "End, RFC 3339; not in the future.") var to: String
    @Option(help: "The routing operation's name, when the order has several works on that equipment.") var operation: String = ""
    @Option(help: "Free text recorded with the assignment beside who ran the command (the OS user, always recorded), like a ticket number.")
    var note: String?

    func run() async throws {
        let ctx = try await SyncContext.open(config: config)
        guard ctx.sync.equipment[equipment] != nil else {
            throw ValidationError("equipment \"\(equipment)\" is not mapped under `equipment:` (mapped: \(ctx.sync.equipment.keys.sorted().joined(separator: ", ")))")
        }
        guard let start = Timestamp(rfc3339: from), let end = Timestamp(rfc3339: to) else {
            throw ValidationError("--from and --to must be RFC 3339 times, like 2026-11-24T08:00:00Z")
        }
        let now = Timestamp.now()
        let operatorName = OperatorIdentity.current(note: note)
        guard start < end else { throw ValidationError("--from must be before --to") }
        guard end <= now else { throw ValidationError("--to is in the future: assign only what was counted") }
        let imported = try await ctx.store.orders()
        guard let o = imported.values.first(where: { $0.number == order || (!$0.reference.isEmpty && $0.reference == order) }) else {
            throw ValidationError("no imported order has number or reference \"\(order)\" (see `millwright-central master-data`)")
        }
        guard !o.isClosed else { throw ValidationError("order \(o.number) is \(o.state) in the ERP: nothing can be posted to it") }
        let clash = try await ctx.pass.timeline(orders: imported).filter { $0.equipment == equipment && $0.from < end && ($0.to.map { $0 > start } ?? true) }
        guard clash.isEmpty else {
            let c = clash[0]
            throw ValidationError("\(equipment) already has an order from \(c.from.rfc3339) to \(c.to?.rfc3339 ?? "now"): assign only a range no order covers")
        }
        try await ctx.store.recordAssignmentChange(equipment: equipment, orderRef: o.number, operation: operation, action: .start, at: start,
                                             source: .operator, operator: operatorName, now: now)
        try await ctx.store.recordAssignmentChange(equipment: equipment, orderRef: o.number, operation: operation, action: .stop, at: end,
                                             source: .operator, operator: operatorName, now: now)
        print("\(equipment): order \(o.number) from \(start.rfc3339) to \(end.rfc3339), assigned by \(operatorName); "
              + "the next reconcile pass (every \(ctx.sync.reconcileEvery.value) ms) attributes and posts its counts")
    }
}
