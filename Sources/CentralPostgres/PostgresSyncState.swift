import CentralIngest
import CentralSync
import Foundation
import MillwrightCore
import PostgresNIO
import Reconciliation

/// The synchronisation's seams (`MasterDataStore`, `PostingsStore`) on PostgreSQL, shared by
/// central replicas.
///
/// Why it is shaped this way: due postings are claimed, not just read. A claim (`claimed_by`,
/// `claim_until` on the database's clock) is taken with `FOR UPDATE SKIP LOCKED`, so two replicas
/// polling at once get disjoint postings and never wait on each other; a claim ends when the
/// posting is acknowledged, failed or replayed, or after `claimFor` if its holder died, and then
/// another replica delivers it (looking it up by key first, as after any crash). Event keys cited
/// by postings are a `text[]` with a GIN index, so "postings citing this event" is an index lookup.
public final class PostgresSyncState: SyncState {
    public let database: PostgresDatabase
    /// Who claims postings: unique per process.
    public let holder: String
    /// How long a claim lasts without an outcome: the longest a dead replica delays its postings.
    public let claimFor: Duration

    public init(_ database: PostgresDatabase, holder: String, claimFor: Duration = .seconds(300)) {
        self.database = database
        self.holder = holder
        self.claimFor = claimFor
    }

    var logger: Logger { database.logger }

    static let dbNow = "(extract(epoch from clock_timestamp()) * 1000)::bigint"

    var claimMillis: Int64 { claimFor.components.seconds * 1000 + claimFor.components.attoseconds / 1_000_000_000_000_000 }

    // MARK: MasterDataStore

    public func upsertOrders(_ orders: [ERPOrder], now: Timestamp) async throws {
        guard !orders.isEmpty else { return }
        let rows = try orders.sorted { $0.id < $1.id }.map { try StoredOrder($0, importedAt: now) }
        let closed: [Int64] = rows.map { $0.closedSeenAt ?? -1 }  // -1: not closed (arrays carry no NULL here)
        try await database.transaction { c in
            try await Self.fence(c, self.logger)
            try await c.query("""
                INSERT INTO erp_orders AS o (id, number, reference, state, body, imported_at, closed_seen_at)
                SELECT u.id, u.number, u.reference, u.state, u.body, \(now.milliseconds), NULLIF(u.closed, -1)
                FROM unnest(\(rows.map(\.id))::int8[], \(rows.map(\.number))::text[], \(rows.map(\.reference))::text[],
                    \(rows.map(\.state))::text[], \(rows.map(\.body))::text[], \(closed)::int8[]) AS u(id, number, reference, state, body, closed)
                ON CONFLICT (id) DO UPDATE SET number = excluded.number, reference = excluded.reference, state = excluded.state,
                    body = excluded.body, imported_at = excluded.imported_at,
                    closed_seen_at = COALESCE(o.closed_seen_at, excluded.closed_seen_at)
                """, logger: logger)
        }
    }

    public func orderImportTimes() async throws -> [Int64: Timestamp] {
        var out: [Int64: Timestamp] = [:]
        for try await (id, at) in try await database.query("SELECT id, imported_at FROM erp_orders").decode((Int64, Int64).self) {
            out[id] = Timestamp(milliseconds: at)
        }
        return out
    }

    public func orders() async throws -> [Int64: ERPOrder] {
        var out: [Int64: ERPOrder] = [:]
        for try await body in try await database.query("SELECT body FROM erp_orders").decode(String.self) {
            let o = try StoredOrder.order(body: body)
            out[o.id] = o
        }
        return out
    }

    @discardableResult
    public func recordAssignmentChange(equipment: String, orderRef: String, operation: String, action: AssignmentChange.Action,
                                       at: Timestamp, source: AssignmentSource, operator actor: String?, now: Timestamp) async throws -> Bool {
        let logger = self.logger
        return try await database.transaction { c in
            // The ERP import's starts and stops run under its lease; the MES listener's and an operator's do not.
            try await Self.fence(c, logger)
            var inserted = false
            let rows = try await c.query("""
                INSERT INTO assignment_changes (equipment, order_ref, operation, action, at, source, received_at, operator)
                VALUES (\(equipment), \(orderRef), \(operation), \(action.rawValue), \(at.milliseconds), \(source.rawValue), \(now.milliseconds), \(actor))
                ON CONFLICT ON CONSTRAINT assignment_changes_key DO NOTHING
                RETURNING id
                """, logger: logger)
            for try await _ in rows.decode(Int64.self) { inserted = true }
            return inserted
        }
    }

    public func assignmentChanges() async throws -> [AssignmentRecord] {
        var out: [AssignmentRecord] = []
        let rows = try await database.query("""
            SELECT equipment, order_ref, operation, action, at, source, received_at, operator FROM assignment_changes ORDER BY at, id
            """)
        for try await r in rows.decode((String, String, String, String, Int64, String, Int64, String?).self) {
            // A value this version does not know is an error, not a change left out of the timeline.
            guard let action = AssignmentChange.Action(rawValue: r.3) else {
                throw PostgresStoreError("an assignment change of \(r.0) has the unknown action \"\(r.3)\"")
            }
            guard let source = AssignmentSource(rawValue: r.5) else {
                throw PostgresStoreError("an assignment change of \(r.0) has the unknown source \"\(r.5)\"")
            }
            out.append(AssignmentRecord(equipment: r.0, orderRef: r.1, operation: r.2, action: action, at: Timestamp(milliseconds: r.4),
                                        source: source, receivedAt: Timestamp(milliseconds: r.6), operator: r.7))
        }
        return out
    }

    // MARK: PostingsStore

    public func cursor(_ name: String) async throws -> FeedPosition {
        for try await (t, r) in try await database.query("SELECT txid, row_id FROM cursors WHERE name = \(name)").decode((Int64, Int64).self) {
            return FeedPosition(transaction: t, row: r)
        }
        return .start
    }

    @discardableResult
    public func apply(postings: [NewPosting], reviews: [ReviewChange], cursor: (name: String, value: FeedPosition)?,
                      now: Timestamp) async throws -> [Int64] {
        let logger = self.logger
        return try await database.transaction { c in
            try await Self.fence(c, logger)
            if let cursor {
                try await c.query("""
                    INSERT INTO cursors (name, txid, row_id) VALUES (\(cursor.name), \(cursor.value.transaction), \(cursor.value.row))
                    ON CONFLICT (name) DO UPDATE SET txid = excluded.txid, row_id = excluded.row_id
                    """, logger: logger)
            }
            var ids: [Int64] = []
            for p in postings {
                let rows = try await c.query("""
                    INSERT INTO postings (idempotency_key, target, kind, line, order_id, quantity, payload, sources, status,
                        attempts, next_attempt_at, created_at, updated_at)
                    VALUES (\(p.idempotencyKey), \(p.target), \(p.kind.rawValue), \(p.line), \(p.orderID), \(p.quantity), \(p.payload),
                        \(p.sources)::text[], 'pending', 0, \(now.milliseconds), \(now.milliseconds), \(now.milliseconds))
                    ON CONFLICT (idempotency_key) DO NOTHING
                    RETURNING id
                    """, logger: logger)
                for try await id in rows.decode(Int64.self) {
                    ids.append(id)
                    let created = PostingLifecycle.created(p)
                    try await Self.audit(c, id, created, now, logger)
                }
            }
            if !ids.isEmpty {
                // Delivered at COMMIT to every replica's dispatcher (`watchArrivals`).
                try await c.query("SELECT pg_notify(\(Self.arrivalsChannel), '')", logger: logger)
            }
            for r in reviews.sorted(by: { $0.line.description < $1.line.description }) {
                if r.quantity == 0 {
                    try await c.query("DELETE FROM review_items WHERE line = \(r.line.description)", logger: logger)
                } else {
                    try await c.query("""
                        INSERT INTO review_items AS i (line, order_id, kind, quantity, reason, sources, first_seen, updated_at)
                        VALUES (\(r.line.description), \(r.line.orderID), \(r.line.kind.rawValue), \(r.quantity), \(r.reason),
                            \(r.sources)::text[], \(now.milliseconds), \(now.milliseconds))
                        ON CONFLICT (line) DO UPDATE SET quantity = excluded.quantity, reason = excluded.reason,
                            sources = excluded.sources, updated_at = excluded.updated_at
                        WHERE i.quantity != excluded.quantity OR i.reason != excluded.reason
                        """, logger: logger)
                }
            }
            return ids
        }
    }

    /// Appends an entry `PostingLifecycle` decided to posting `id`'s trail, in the caller's transaction.
    static func audit(_ c: LiveConnection, _ id: Int64, _ entry: PostingLifecycle.AuditEntry, _ now: Timestamp,
                      _ logger: Logger) async throws {
        try await c.query("""
            INSERT INTO posting_audit (posting_id, at, actor, action, detail)
            VALUES (\(id), \(now.milliseconds), \(entry.actor), \(entry.action.rawValue), \(entry.detail))
            """, logger: logger)
    }

    public func postedLines() async throws -> (totals: [LineKey: Double], sources: [LineKey: Set<EventKey>], counts: [LineKey: Int]) {
        var totals: [LineKey: Double] = [:], sources: [LineKey: Set<EventKey>] = [:], counts: [LineKey: Int] = [:]
        let rows = try await database.query("SELECT line, quantity, sources FROM postings WHERE line != ''")
        for try await (line, quantity, cited) in rows.decode((String, Double, [String]).self) {
            guard let key = LineKey(parsing: line) else { continue }
            totals[key, default: 0] += quantity
            counts[key, default: 0] += 1
            sources[key, default: []].formUnion(cited.compactMap(EventKey.init(parsing:)))
        }
        return (totals, sources, counts)
    }

    static let postingColumns = """
        id, idempotency_key, target, kind, line, order_id, quantity, payload, sources, status, attempts, next_attempt_at,
        document_ref, last_error, created_at, updated_at, claimed_by, claim_generation
        """

    func postings(_ query: PostgresQuery) async throws -> [Posting] {
        var out: [Posting] = []
        let rows = try await database.query(query)
        for try await r in rows.decode(PostingRow.self) {
            out.append(try Self.posting(r))
        }
        return out
    }

    /// A row of `postingColumns`, in order.
    typealias PostingRow = (Int64, String, String, String, String, Int64?, Double, String, [String], String, Int32, Int64,
                            String?, String?, Int64, Int64, String?, Int64)

    static func posting(_ r: PostingRow) throws -> Posting {
        guard let status = Posting.Status(rawValue: r.9) else {
            throw PostgresStoreError("posting \(r.0) has the unknown status \"\(r.9)\"")
        }
        guard let kind = PostingKind(rawValue: r.3) else {
            throw PostgresStoreError("posting \(r.0) has the unknown kind \"\(r.3)\"")
        }
        return Posting(id: r.0, idempotencyKey: r.1, target: r.2, kind: kind, line: r.4, orderID: r.5, quantity: r.6, payload: r.7,
                       sources: r.8, status: status, attempts: Int(r.10), nextAttemptAt: Timestamp(milliseconds: r.11), documentRef: r.12,
                       lastError: r.13, createdAt: Timestamp(milliseconds: r.14), updatedAt: Timestamp(milliseconds: r.15),
                       claim: r.16.map { PostingClaim(holder: $0, generation: r.17) })
    }

    /// Claims due postings for this process (see the type's comment) and returns them in due order.
    public func duePostings(now: Timestamp, limit: Int) async throws -> [Posting] {
        let claimed = try await postings("""
            UPDATE postings SET claimed_by = \(holder), claim_generation = claim_generation + 1,
                claim_until = \(unescaped: Self.dbNow) + \(claimMillis)
            WHERE id IN (
                SELECT id FROM postings
                WHERE status IN ('pending', 'sent') AND next_attempt_at <= \(now.milliseconds)
                  AND (claim_until IS NULL OR claim_until < \(unescaped: Self.dbNow))
                ORDER BY next_attempt_at, id LIMIT \(Int64(max(0, limit)))
                FOR UPDATE SKIP LOCKED)
            RETURNING \(unescaped: Self.postingColumns)
            """)
        return claimed.sorted { ($0.nextAttemptAt, $0.id) < ($1.nextAttemptAt, $1.id) }
    }

    public func postings(status: Posting.Status?, kind: PostingKind?) async throws -> [Posting] {
        try await postings("""
            SELECT \(unescaped: Self.postingColumns) FROM postings
            WHERE (\(status?.rawValue)::text IS NULL OR status = \(status?.rawValue)::text)
              AND (\(kind?.rawValue)::text IS NULL OR kind = \(kind?.rawValue)::text)
            ORDER BY id
            """)
    }

    public func posting(id: Int64) async throws -> Posting? {
        try await postings("SELECT \(unescaped: Self.postingColumns) FROM postings WHERE id = \(id)").first
    }

    public func posting(key: String) async throws -> Posting? {
        try await postings("SELECT \(unescaped: Self.postingColumns) FROM postings WHERE idempotency_key = \(key)").first
    }

    public func posting(documentRef: String) async throws -> [Posting] {
        try await postings("SELECT \(unescaped: Self.postingColumns) FROM postings WHERE document_ref = \(documentRef) ORDER BY id")
    }

    public func postings(citing key: EventKey) async throws -> [Posting] {
        try await postings("SELECT \(unescaped: Self.postingColumns) FROM postings WHERE sources @> ARRAY[\(key.description)]::text[] ORDER BY id")
    }

    /// A transition of the posting state machine (`PostingLifecycle`), fenced by the claim: the row
    /// is locked, its claim compared with the writer's (holder and generation; a replica paused past
    /// its claim finds another's, or none, and is refused), the decision persisted and the audit
    /// appended, in one transaction.
    @discardableResult
    public func record(_ transition: PostingTransition, posting id: Int64, claim: PostingClaim?, now: Timestamp) async throws -> Posting {
        let logger = self.logger
        return try await database.transaction { c in
            var current: Posting?
            for try await r in try await c.query("SELECT \(unescaped: Self.postingColumns) FROM postings WHERE id = \(id) FOR UPDATE",
                                                 logger: logger).decode(PostingRow.self) {
                current = try Self.posting(r)
            }
            guard let p = current else { throw PostingRefusal.noSuchPosting(id) }
            guard PostingLifecycle.claimHolds(claim, current: p.claim) else {
                throw PostingRefusal.claimLost(id, holder: claim?.holder ?? "?", now: p.claim)
            }
            let change = try PostingLifecycle.decide(transition, on: p, now: now)
            try await c.query("""
                UPDATE postings SET status = \(change.status.rawValue), attempts = \(Int32(clamping: change.attempts)),
                    next_attempt_at = \(change.nextAttemptAt.milliseconds), payload = \(change.payload), document_ref = \(change.documentRef),
                    last_error = \(change.lastError), updated_at = \(now.milliseconds),
                    claimed_by = CASE WHEN \(change.endsClaim) THEN NULL ELSE claimed_by END,
                    claim_until = CASE WHEN \(change.endsClaim) THEN NULL ELSE claim_until END
                WHERE id = \(id)
                """, logger: logger)
            for entry in change.audit {
                try await Self.audit(c, id, entry, now, logger)
            }
            if case .replay = transition {
                try await c.query("SELECT pg_notify(\(Self.arrivalsChannel), '')", logger: logger)
            }
            return p.applying(change, now: now)
        }
    }

    public func audit(postingID: Int64) async throws -> [PostingAudit] {
        var out: [PostingAudit] = []
        let rows = try await database.query("SELECT posting_id, at, actor, action, detail FROM posting_audit WHERE posting_id = \(postingID) ORDER BY id")
        for try await r in rows.decode((Int64, Int64, String, String, String).self) {
            guard let action = PostingAuditAction(rawValue: r.3) else {
                throw PostgresStoreError("the audit trail of posting \(postingID) has the unknown action \"\(r.3)\"")
            }
            out.append(PostingAudit(postingID: r.0, at: Timestamp(milliseconds: r.1), actor: r.2, action: action, detail: r.4))
        }
        return out
    }

    public func reviewItems() async throws -> [ReviewItem] {
        var out: [ReviewItem] = []
        let rows = try await database.query("""
            SELECT line, order_id, kind, quantity, reason, sources, first_seen, updated_at FROM review_items ORDER BY order_id, line
            """)
        for try await r in rows.decode((String, Int64, String, Double, String, [String], Int64, Int64).self) {
            out.append(ReviewItem(line: r.0, orderID: r.1, kind: r.2, quantity: r.3, reason: r.4, sources: r.5,
                                  firstSeen: Timestamp(milliseconds: r.6), updatedAt: Timestamp(milliseconds: r.7)))
        }
        return out
    }

    public func replaceUnassigned(_ spans: [UnassignedSpan], now: Timestamp) async throws {
        let logger = self.logger
        try await database.transaction { c in
            try await Self.fence(c, logger)
            // One replacer at a time (two passes at once would each keep their own rows).
            try await c.query("LOCK TABLE unassigned_spans IN EXCLUSIVE MODE", logger: logger)
            var firstSeen: [UnassignedSpan.Gap: Int64] = [:]
            let rows = try await c.query("SELECT equipment, kind, material, after_ms, first_seen FROM unassigned_spans", logger: logger)
            for try await r in rows.decode((String, String, String, Int64?, Int64).self) {
                guard let kind = QuantityKind(rawValue: r.1) else { continue }
                firstSeen[UnassignedSpan.Gap(equipment: r.0, kind: kind, material: r.2, after: r.3.map(Timestamp.init(milliseconds:)))] = r.4
            }
            try await c.query("DELETE FROM unassigned_spans", logger: logger)
            for s in spans {
                try await c.query("""
                    INSERT INTO unassigned_spans (equipment, kind, material, after_ms, before_ms, from_ms, to_ms, quantity, sources, first_seen, updated_at)
                    VALUES (\(s.equipment), \(s.kind.rawValue), \(s.material), \(s.after?.milliseconds), \(s.before?.milliseconds),
                        \(s.from.milliseconds), \(s.to.milliseconds), \(s.quantity), \(s.events.sorted().map(\.description))::text[],
                        \(firstSeen[s.gap] ?? now.milliseconds), \(now.milliseconds))
                    """, logger: logger)
            }
        }
    }

    public func unassigned() async throws -> [UnassignedItem] {
        var out: [UnassignedItem] = []
        let rows = try await database.query("""
            SELECT equipment, kind, material, after_ms, before_ms, from_ms, to_ms, quantity, sources, first_seen, updated_at
            FROM unassigned_spans ORDER BY equipment, from_ms, kind, material
            """)
        for try await r in rows.decode((String, String, String, Int64?, Int64?, Int64, Int64, Double, [String], Int64, Int64).self) {
            guard let kind = QuantityKind(rawValue: r.1) else { continue }
            let span = UnassignedSpan(equipment: r.0, kind: kind, material: r.2, after: r.3.map(Timestamp.init(milliseconds:)),
                                      before: r.4.map(Timestamp.init(milliseconds:)), from: Timestamp(milliseconds: r.5),
                                      to: Timestamp(milliseconds: r.6), quantity: r.7, events: Set(r.8.compactMap(EventKey.init(parsing:))))
            out.append(UnassignedItem(span: span, firstSeen: Timestamp(milliseconds: r.9), updatedAt: Timestamp(milliseconds: r.10)))
        }
        return out
    }

    public func recordTargetHealth(_ target: String, breaker: BreakerState, failures: Int, success: Bool, error: String?, now: Timestamp) async throws {
        let ok: Int64? = success ? now.milliseconds : nil, failed: Int64? = success ? nil : now.milliseconds
        try await database.transaction { c in
            try await c.query("""
                INSERT INTO target_health AS h (target, breaker, consecutive_failures, last_success, last_failure, last_error)
                VALUES (\(target), \(breaker.rawValue), \(Int32(clamping: failures)), \(ok), \(failed), \(error))
                ON CONFLICT (target) DO UPDATE SET breaker = excluded.breaker, consecutive_failures = excluded.consecutive_failures,
                    last_success = COALESCE(excluded.last_success, h.last_success), last_failure = COALESCE(excluded.last_failure, h.last_failure),
                    last_error = COALESCE(excluded.last_error, h.last_error)
                """, logger: self.logger)
        }
    }

    public func targetHealth() async throws -> [TargetHealth] {
        var out: [TargetHealth] = []
        let rows = try await database.query("SELECT target, breaker, consecutive_failures, last_success, last_error FROM target_health ORDER BY target")
        for try await r in rows.decode((String, String, Int32, Int64?, String?).self) {
            guard let breaker = BreakerState(rawValue: r.1) else {
                throw PostgresStoreError("target \(r.0) has the unknown breaker state \"\(r.1)\"")
            }
            out.append(TargetHealth(target: r.0, breaker: breaker, failures: Int(r.2), lastSuccess: r.3.map(Timestamp.init(milliseconds:)), lastError: r.4))
        }
        return out
    }

    // MARK: PostingArrivals

    /// The channel postings are announced on (an `apply` that added some, a replay), at COMMIT.
    static let arrivalsChannel = "millwright_postings"

    /// LISTEN on a connection of the pool held for as long as this runs (one of `store.connections`;
    /// with only one, nothing is held and the dispatcher's poll finds new postings).
    public func watchArrivals(_ arrived: @escaping @Sendable () -> Void) async throws {
        guard database.settings.connections >= 2 else { return }
        do {
            try await database.client.withConnection { connection in
                // A connection the server already closed would take the LISTEN and never answer.
                guard !connection.isClosed else { throw ConnectionEnded() }
                try await connection.listen(on: Self.arrivalsChannel) { notifications in
                    for try await _ in notifications { arrived() }
                }
            }
        } catch {
            if Task.isCancelled { return }
            throw PostgresStoreError(PostgresDatabase.describe(error))
        }
    }

    public func claims() async throws -> [PostingClaims] {
        var out: [PostingClaims] = []
        let rows = try await database.query("""
            SELECT claimed_by, COUNT(*) FILTER (WHERE claim_until >= \(unescaped: Self.dbNow)),
                COUNT(*) FILTER (WHERE claim_until < \(unescaped: Self.dbNow))
            FROM postings WHERE claimed_by IS NOT NULL AND status IN ('pending', 'sent')
            GROUP BY claimed_by ORDER BY claimed_by
            """)
        for try await (holder, active, expired) in rows.decode((String, Int64, Int64).self) {
            out.append(PostingClaims(holder: holder, active: Int(active), expired: Int(expired)))
        }
        return out
    }

    public func releaseClaims() async throws -> Int {
        let rows = try await database.query("""
            UPDATE postings SET claimed_by = NULL, claim_until = NULL
            WHERE claimed_by = \(holder) AND status IN ('pending', 'sent')
            RETURNING id
            """)
        var n = 0
        for try await _ in rows { n += 1 }
        return n
    }

    // MARK: LeaseStore

    public func acquire(_ name: String, holder: String, ttl: Duration) async throws -> Lease? {
        let ms = ttl.components.seconds * 1000 + ttl.components.attoseconds / 1_000_000_000_000_000
        // On the database's clock, so replicas' clocks do not matter. A takeover (another holder,
        // after expiry) bumps the token: writes fenced with the old one are refused from then on.
        let rows = try await database.query("""
            INSERT INTO leases AS l (name, holder, token, expires_at) VALUES (\(name), \(holder), 1, \(unescaped: Self.dbNow) + \(ms))
            ON CONFLICT (name) DO UPDATE SET token = CASE WHEN l.holder = excluded.holder THEN l.token ELSE l.token + 1 END,
                holder = excluded.holder, expires_at = excluded.expires_at
            WHERE l.holder = excluded.holder OR l.expires_at < \(unescaped: Self.dbNow)
            RETURNING token, expires_at
            """)
        for try await (token, expires) in rows.decode((Int64, Int64).self) {
            return Lease(name: name, holder: holder, token: token, expiresAt: Timestamp(milliseconds: expires))
        }
        return nil
    }

    public func release(_ name: String, holder: String) async throws {
        try await database.transaction { c in
            try await c.query("UPDATE leases SET expires_at = 0 WHERE name = \(name) AND holder = \(holder)", logger: self.logger)
        }
    }

    public func leases() async throws -> [Lease] {
        var out: [Lease] = []
        for try await r in try await database.query("SELECT name, holder, token, expires_at FROM leases ORDER BY name")
            .decode((String, String, Int64, Int64).self) {
            out.append(Lease(name: r.0, holder: r.1, token: r.2, expiresAt: Timestamp(milliseconds: r.3)))
        }
        return out
    }

    /// Inside a write transaction of a job running under a lease (`Lease.current`): the lease must
    /// still be this one and unexpired. `FOR SHARE` keeps a takeover waiting until this commits.
    static func fence(_ c: LiveConnection, _ logger: Logger) async throws {
        guard let lease = Lease.current else { return }
        let rows = try await c.query("""
            SELECT 1 FROM leases WHERE name = \(lease.name) AND holder = \(lease.holder) AND token = \(lease.token)
              AND expires_at > \(unescaped: dbNow)
            FOR SHARE
            """, logger: logger)
        var held = false
        for try await _ in rows.decode(Int32.self) { held = true }
        if !held { throw LeaseLost(lease) }
    }
}

extension PostgresSyncState {
    /// See `RetentionNeeds.citedEventKeys`.
    public func citedEventKeys() async throws -> Set<String> {
        var keys = Set<String>()
        let rows = try await database.query("""
            SELECT unnest(sources) FROM postings WHERE status NOT IN ('acked', 'confirmed')
            UNION SELECT unnest(sources) FROM review_items
            UNION SELECT unnest(sources) FROM unassigned_spans
            """)
        for try await (key) in rows.decode(String.self) { keys.insert(key) }
        return keys
    }
}
