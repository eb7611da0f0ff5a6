import CentralIngest
import Foundation
import MillwrightCore
import Reconciliation

/// One reconciliation pass over the store: learn edge clocks, build assignments, derive every open
/// order's ledger from its events, decide postings and review items, and add the immediate-tier
/// postings (downtime, quality, escalation) for events that arrived since the last pass.
///
/// Everything derived is recomputed from stored facts each pass, so the outcome does not depend on
/// the order events arrived in; what was posted is the only state carried between passes.
public struct ReconcilePass: Sendable {
    public let config: SyncConfiguration
    public let store: any SyncState
    /// The ingested events, read through the ingest's seam (never its tables).
    public let events: any IngestStore
    let cache = ObservationCache()

    public init(config: SyncConfiguration, store: any SyncState, events: any IngestStore) {
        self.config = config
        self.store = store
        self.events = events
    }

    public struct Outcome: Sendable, Hashable {
        public var postingsCreated = 0
        public var reviewItems = 0
        /// Counts no order covers, per equipment, kind and gap between assignments.
        public var unattributed: [UnassignedSpan] = []
        public var unresolvedOrders: Set<String> = []
        /// Events that could not be decoded since the last pass (each is reported once).
        public var undecodableEvents: [String] = []
        /// Order release postings whose payload this version cannot read (edited in the store by
        /// hand): left out of the versioning, with why.
        public var unreadableReleases: [String] = []
    }

    var reconciler: Reconciler { Reconciler(policy: .init(cadence: config.cadence, grace: config.grace)) }

    @discardableResult
    public func run(now: Timestamp = .now()) async throws -> Outcome {
        var outcome = Outcome()
        let orders = try await store.orders()
        let (assignments, unresolved) = try await self.assignments(orders: orders)
        outcome.unresolvedOrders = unresolved
        let offsets = try await events.edgeClockOffsets()

        let observations = try await self.observations(offsets: offsets, now: now)
        let (lines, loose) = reconciler.derive(observations, assignments: assignments)
        outcome.unattributed = loose
        let posted = try await store.postedLines()
        var states: [Int64: Reconciler.OrderState] = [:]
        for (id, o) in orders { states[id] = .init(closed: o.isClosed, plannedInputs: o.plannedInputs.mapValues(\.quantity)) }
        let ended = Reconciler.orderEnds(assignments)
        let decisions = reconciler.decide(lines: lines, posted: posted.totals, postedSources: posted.sources,
                                          orders: states, orderEnded: ended, now: now)
        var newPostings: [NewPosting] = []
        var reviews: [ReviewChange] = []
        for d in decisions {
            switch d {
            case .post(let line, _, _, _) where !config.postsCountedQuantities && line.kind != .consumption:
                // The MES confirms yield and scrap: the machines' counts are the check, not a posting.
                continue
            case .review(let line, _, _) where !config.postsCountedQuantities && line.kind != .consumption:
                // Nor a review item (a closed order's counts would all be "late"): cleared if one was kept.
                reviews.append(ReviewChange(line: line, quantity: 0, reason: "", sources: []))
            case .post(let line, let quantity, let date, let sources):
                guard let order = orders[line.orderID], let target = config.routes[PostingKind(line.kind)] else {
                    reviews.append(ReviewChange(line: line, quantity: quantity, reason: "no target is routed for \(line.kind.rawValue), or the order is not imported", sources: sources.map(\.description)))
                    continue
                }
                let revision = (posted.counts[line] ?? 0) + 1
                let key = "\(line.kind.rawValue):\(line):r\(revision)"
                let payload: String
                do {
                    payload = try PayloadBuilder.quantity(key: key, line: line, order: order, quantity: quantity, date: date,
                                                          revision: revision, sources: sources).encoded()
                } catch let PayloadBuilder.Unpostable.notAPlannedInput(material, number) {
                    reviews.append(ReviewChange(line: line, quantity: quantity, reason: "material \(material) is not a planned input of order \(number): add it in the ERP", sources: sources.map(\.description)))
                    continue
                } catch {
                    reviews.append(ReviewChange(line: line, quantity: quantity, reason: "\(error)", sources: sources.map(\.description)))
                    continue
                }
                newPostings.append(.init(idempotencyKey: key, target: target, kind: PostingKind(line.kind), line: line.description,
                                         orderID: line.orderID, quantity: quantity, payload: payload, sources: sources.map(\.description)))
            case .review(let line, let quantity, let reason):
                let sources = (lines[line]?.sources ?? []).sorted().map(\.description)
                reviews.append(ReviewChange(line: line, quantity: quantity, reason: reason, sources: quantity == 0 ? [] : sources))
                if quantity != 0 { outcome.reviewItems += 1 }
            }
        }
        let (immediate, seen) = try await eventPostings(orders: orders, assignments: assignments, offsets: offsets)
        newPostings += immediate
        let releases = try await releasePostings(orders: orders)
        newPostings += releases.postings
        outcome.unreadableReleases = releases.unreadable
        // The cursor moves in the same transaction as the postings: a failed pass re-reads the events.
        outcome.postingsCreated = try await store.apply(postings: newPostings, reviews: reviews,
                                                  cursor: seen.map { ("event_postings", $0) }, now: now).count
        try await store.replaceUnassigned(loose, now: now)
        outcome.undecodableEvents = cache.undecodable.withLock { keys in
            defer { keys.removeAll() }
            return keys.map(\.description)
        }
        return outcome
    }

    // MARK: order release

    /// The order versions to send the MES (`OrderReleasePlanner`), when `order_release` is routed.
    func releasePostings(orders: [Int64: ERPOrder]) async throws -> (postings: [NewPosting], unreadable: [String]) {
        guard let target = config.routes[.orderRelease] else { return ([], []) }
        var published: [OrderReleasePayload] = []
        var unreadable: [String] = []
        for p in try await store.postings(status: nil, kind: .orderRelease) {
            do {
                published.append(try OrderReleasePayload.decode(p.payload, as: .orderRelease))
            } catch {
                unreadable.append("posting \(p.id) (\(p.idempotencyKey)): \(error)")
            }
        }
        return (try OrderReleasePlanner.plan(orders: orders, published: published, target: target), unreadable)
    }

    // MARK: assignments

    /// MES starts and stops resolved to ERP orders (by reference, else number). Equipment with MES
    /// data uses only that; equipment without uses the running works the ERP import saw.
    /// The assignment timeline the next pass attributes by (every source resolved to `orders`, the
    /// imported orders when not given).
    public func timeline(orders: [Int64: ERPOrder]? = nil) async throws -> [Assignment] {
        let orders = if let orders { orders } else { try await store.orders() }
        return try await assignments(orders: orders).0
    }

    func assignments(orders: [Int64: ERPOrder]) async throws -> ([Assignment], Set<String>) {
        var byRef: [String: ERPOrder] = [:]
        for o in orders.values.sorted(by: { $0.id < $1.id }) {
            byRef[o.number] = o
            if !o.reference.isEmpty { byRef[o.reference] = o }
        }
        let raw = try await store.assignmentChanges()
        let mesEquipment = Set(raw.filter { $0.source == .mes }.map(\.equipment))
        var unresolved = Set<String>()
        var changes: [AssignmentChange] = []
        // An operator's assignment (of counts no order covered) stands whatever the other sources say.
        for r in raw where r.source == .mes || r.source == .operator || !mesEquipment.contains(r.equipment) {
            guard let order = byRef[r.orderRef] else {
                unresolved.insert(r.orderRef)
                continue
            }
            // By identity: the works the import placed on this equipment's center (or below it). Orders
            // imported before identities were recorded still match by the center's name.
            let center = config.equipment[r.equipment]?.workCenter
            let here = order.works.filter { $0.equipment.isEmpty ? $0.workCenter == center : $0.equipment.contains(r.equipment) }
            let work = here.first { $0.operation == r.operation || r.operation.isEmpty } ?? here.first
            changes.append(AssignmentChange(equipment: r.equipment, orderID: order.id, workID: work?.id, action: r.action, at: r.at))
        }
        return (AssignmentTimeline.build(changes), unresolved)
    }

    // MARK: observations

    /// Count events of mapped signals as quantities on the central's clock. Stored events never
    /// change, so each is decoded once (`ObservationCache`); only the skew correction is applied anew.
    func observations(offsets: [String: Int64], now: Timestamp) async throws -> [Observation] {
        // A day beyond the horizon: an edge clock far behind still finds its events.
        let filter = FeedFilter(equipment: Array(config.equipment.keys), types: [.count])
        let raw = try await cache.update(evictBefore: now - config.horizon - .seconds(86_400)) { after in
            var rows: [FeedEvent] = []
            var position = after
            while true {
                let page = try await events.events(after: position, filter, limit: 50_000)
                guard let last = page.last else { break }
                rows += page
                position = last.position
            }
            return (rows.compactMap(decode), rows.last?.position)
        }
        let since = now - config.horizon
        return raw.lazy.filter { $0.to >= since }.map { r in
            let offset = offsets["\(r.key.edge):\(r.key.bootEpoch)"] ?? 0
            return Observation(key: r.key, equipment: r.equipment, kind: r.kind, material: r.material, quantity: r.quantity,
                               from: correct(r.from, offset: offset, received: r.received),
                               to: correct(r.to, offset: offset, received: r.received))
        }
    }

    /// A count event of a mapped signal, as it was sent (edge clock).
    func decode(_ row: FeedEvent) -> ObservationCache.Raw? {
        guard let mapping = config.equipment[row.equipment] else { return nil }
        let kind: QuantityKind
        var material: String?
        if row.signal == mapping.yieldSignal { kind = .yield }
        else if row.signal == mapping.scrapSignal { kind = .scrap }
        else if let m = mapping.consumption[row.signal] { kind = .consumption; material = m }
        else { return nil }
        guard let e = decodeEnvelope(row), case .number(let delta)? = e.values["delta"] else { return nil }
        var from = e.occurredAt, to = e.occurredAt
        if case .text(let f)? = e.values["from"], let t = Timestamp(rfc3339: f) { from = t }
        if case .text(let t)? = e.values["to"], let tt = Timestamp(rfc3339: t) { to = tt }
        return .init(key: row.key, equipment: row.equipment, kind: kind, material: material, quantity: delta, from: from, to: to,
                     received: row.centralReceivedAt)
    }

    /// The stored envelope, or nil after recording the event as undecodable.
    func decodeEnvelope(_ row: FeedEvent, _ decoder: JSONDecoder = JSONDecoder()) -> EventEnvelope? {
        do {
            return try decoder.decode(EventEnvelope.self, from: Data(row.body.utf8))
        } catch {
            cache.undecodable.withLock { $0.append(row.key) }
            return nil
        }
    }

    /// Moves an edge time onto the central's clock when the edge's offset exceeds the tolerance,
    /// and never later than the central received it (nothing happens in the future).
    func correct(_ t: Timestamp, offset: Int64, received: Timestamp) -> Timestamp {
        let shifted = abs(offset) > config.skewTolerance.value ? Timestamp(milliseconds: t.milliseconds + offset) : t
        return min(shifted, received)
    }

    // MARK: immediate tier

    /// Downtime -> maintenance notification, quality alarms -> quality hold, severe alarms ->
    /// escalation, downtime -> planning exception: one posting per event, keyed by the event.
    /// Returns the postings and the feed position the cursor may advance to once they are stored.
    func eventPostings(orders: [Int64: ERPOrder], assignments: [Assignment], offsets: [String: Int64]) async throws -> ([NewPosting], FeedPosition?) {
        let wanted = PostingKind.eventNotices.filter { config.routes[$0] != nil }
        let rows = try await events.events(after: try await store.cursor("event_postings"), .all, limit: 10_000)
        guard let last = rows.last else { return ([], nil) }
        guard !wanted.isEmpty else { return ([], last.position) }
        let decoder = JSONDecoder()
        var out: [NewPosting] = []
        for row in rows {
            guard let mapping = config.equipment[row.equipment], [EventType.downtime, .limitRaised].contains(row.type),
                  let e = decodeEnvelope(row, decoder) else { continue }
            var kinds: [PostingKind] = []
            if row.type == .downtime { kinds += [.maintenanceNotification, .planningException] }
            if row.type == .limitRaised, mapping.qualitySignals.contains(row.signal) { kinds.append(.qualityHold) }
            if case .text(let severity)? = e.values["severity"], config.escalationSeverities.contains(severity) { kinds.append(.escalation) }
            let offset = offsets["\(row.key.edge):\(row.key.bootEpoch)"] ?? 0
            let at = correct(e.occurredAt, offset: offset, received: row.centralReceivedAt)
            let active = assignments.last { $0.equipment == row.equipment && $0.contains(at) }
            let order = active.flatMap { orders[$0.orderID] }
            for kind in kinds where wanted.contains(kind) {
                guard let target = config.routes[kind] else { continue }
                let key = "\(kind):\(row.key)"
                let payload: String
                do {
                    payload = try PayloadBuilder.event(key: key, kind: kind, envelope: e, at: at, workCenter: mapping.workCenter, order: order).encoded()
                } catch {
                    // Only a value that is not a finite number can do this, and JSON cannot carry one:
                    // counted and logged with the undecodable events, never silent.
                    cache.undecodable.withLock { $0.append(row.key) }
                    continue
                }
                out.append(.init(idempotencyKey: key, target: target, kind: kind, orderID: order?.id, payload: payload,
                                 sources: [row.key.description]))
            }
        }
        return (out, last.position)
    }
}
