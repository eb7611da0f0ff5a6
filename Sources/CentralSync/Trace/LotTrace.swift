import CentralIngest
import Foundation
import MillwrightCore
import Reconciliation

/// Lot genealogy from what MES confirmations booked: from a finished lot back to the orders that
/// made it, their input lots, the machines that ran them and the sensor events and alarms of those
/// runs; from an input lot forward to every output lot it went into.
///
/// Why from the postings: an output lot is the `lot` of a confirmed yield or scrap posting, an
/// input lot that of an `input_lot` posting, both of one order; the postings outbox is where every
/// confirmation is booked once, on either store backend, so genealogy needs no table of its own.
/// The link is the order (as in Tryton's lot trace, which leads from a production's outputs to
/// all its inputs): every output lot of an order traces to every input lot of the order. The
/// machines are the order's runs in the assignment timeline the reconciliation attributes counts
/// by, and the events those the machines sent during the runs, at the corrected event time.
public struct LotTrace: Sendable {
    let pass: ReconcilePass
    let store: any SyncState
    let events: any IngestStore

    public init(config: SyncConfiguration, store: any SyncState, events: any IngestStore) {
        pass = ReconcilePass(config: config, store: store, events: events)
        self.store = store
        self.events = events
    }

    /// The most events listed per production (all are counted).
    public static let maxEventsListed = 500

    public struct LotLine: Sendable, Hashable, Codable {
        public var lot: String
        /// The output product or the input material, by code.
        public var product: String
        public var kind: String
        public var quantity: Double
        public var confirmation: String
        public var status: Posting.Status
        public var document: String?
    }

    public struct MachineRun: Sendable, Hashable, Codable {
        public var equipment: String
        public var from: String
        public var to: String?
    }

    public struct Event: Sendable, Hashable, Codable {
        public var key: String
        public var equipment: String
        public var signal: String
        public var type: String
        public var at: String
    }

    /// One order that made or used the lot, with everything of it the trace reaches.
    public struct Production: Sendable, Hashable, Codable {
        public var orderID: Int64
        public var order: String
        public var outputs: [LotLine]
        public var inputs: [LotLine]
        public var machines: [MachineRun]
        public var eventCount: Int
        public var events: [Event]
        /// Events of the alarm class during the runs (limits and rates raised or cleared, stale,
        /// recovered, gaps).
        public var alarms: [Event]
    }

    /// One inspection result booked for the lot (`mes.inspections`), as delivered.
    public struct QualityResult: Sendable, Hashable, Codable {
        public var inspection: String
        public var product: String
        public var result: String
        public var at: String
        public var by: String
        public var note: String?
        public var status: Posting.Status
        public var document: String?
    }

    public struct Result: Sendable, Hashable, Codable {
        public var lot: String
        /// Inspection results for the lot, oldest first: the last decides whether it is held.
        public var quality: [QualityResult] = []
        /// Orders that made the lot (it is one of their outputs): its origins.
        public var madeBy: [Production]
        /// Orders that consumed the lot (it is one of their inputs): where it went.
        public var usedBy: [Production]
        public var isEmpty: Bool { madeBy.isEmpty && usedBy.isEmpty && quality.isEmpty }
    }

    public func trace(lot number: String, now: Timestamp = .now()) async throws -> Result {
        var byOrder: [Int64: (outputs: [LotLine], inputs: [LotLine])] = [:]
        var numbers: [Int64: String] = [:]
        var quality: [(Timestamp, QualityResult)] = []
        let postings = try await store.postings()
        for p in postings where p.kind == .lotQuality {
            guard let q = try? LotQualityPayload.decode(p.payload, as: .lotQuality), q.lot == number else { continue }
            quality.append((q.at, QualityResult(inspection: q.inspection, product: q.productCode, result: q.result.rawValue, at: q.at.rfc3339,
                                                by: q.by, note: q.note, status: p.status, document: p.documentRef)))
        }
        quality.sort { $0.0 < $1.0 }
        for p in postings where p.status != .dead {
            guard let confirmation = ConfirmationPlanner.confirmationID(of: p), [.yield, .scrap, .inputLot].contains(p.kind),
                  let m = try? MovePayload.decode(p.payload, as: p.kind), let lot = m.lot else { continue }
            let line = LotLine(lot: lot, product: m.productCode, kind: p.kind.rawValue, quantity: m.quantity, confirmation: confirmation,
                               status: p.status, document: p.documentRef)
            numbers[m.orderID] = m.orderNumber
            if p.kind == .inputLot { byOrder[m.orderID, default: ([], [])].inputs.append(line) } else { byOrder[m.orderID, default: ([], [])].outputs.append(line) }
        }
        let made = byOrder.filter { $0.value.outputs.contains { $0.lot == number } }.keys.sorted()
        let used = byOrder.filter { $0.value.inputs.contains { $0.lot == number } }.keys.sorted()
        guard !made.isEmpty || !used.isEmpty else { return Result(lot: number, quality: quality.map(\.1), madeBy: [], usedBy: []) }
        let timeline = try await pass.timeline()
        let offsets = try await events.edgeClockOffsets()
        // Events are read by the edge's own event time, widened by the largest clock correction,
        // then kept by the corrected time: an edge whose clock is behind still has its events found.
        let widest = offsets.values.map { Int64(clamping: $0.magnitude) }.max() ?? 0
        let slack = Millis(min(widest, Millis.days(366).value) + 60_000)
        func production(_ order: Int64) async throws -> Production {
            let lines = byOrder[order] ?? ([], [])
            let runs = timeline.filter { $0.orderID == order }.sorted { ($0.from, $0.equipment) < ($1.from, $1.equipment) }
            var found: [Event] = [], alarms: [Event] = []
            var count = 0
            for run in runs {
                let end = min(run.to ?? now, now)
                for e in try await events.events(occurredFrom: run.from - slack, before: end + slack, FeedFilter(equipment: [run.equipment])) {
                    let at = pass.correct(e.occurredAt, offset: offsets["\(e.edge):\(e.bootEpoch)"] ?? 0, received: e.centralReceivedAt)
                    guard run.contains(at), at <= now else { continue }
                    let event = Event(key: "\(e.edge):\(e.bootEpoch):\(e.seq)", equipment: e.equipment, signal: e.signal,
                                      type: e.type.rawValue, at: at.rfc3339)
                    count += 1
                    if found.count < Self.maxEventsListed { found.append(event) }
                    if e.type.defaultPriority == .alarm { alarms.append(event) }
                }
            }
            return Production(orderID: order, order: numbers[order] ?? "\(order)", outputs: lines.outputs, inputs: lines.inputs,
                              machines: runs.map { MachineRun(equipment: $0.equipment, from: $0.from.rfc3339, to: $0.to?.rfc3339) },
                              eventCount: count, events: found, alarms: alarms)
        }
        var madeBy: [Production] = [], usedBy: [Production] = []
        for o in made { madeBy.append(try await production(o)) }
        for o in used { usedBy.append(try await production(o)) }
        return Result(lot: number, quality: quality.map(\.1), madeBy: madeBy, usedBy: usedBy)
    }
}
