import CentralIngest
import CentralSync
import Foundation
import GRDB
import MillwrightCore
import Reconciliation

/// The postings outbox: every outbound change is a row with an idempotency key, delivered at
/// least once by the dispatcher and at most once by the target (key or lookup by reference).
extension SyncStore {
    /// Adds postings, sets review items and moves a cursor in one transaction. A posting whose key
    /// exists is skipped.
    /// Returns the ids of the postings added.
    @discardableResult
    public func apply(postings: [NewPosting], reviews: [ReviewChange] = [],
                      cursor: (name: String, value: FeedPosition)? = nil, now: Timestamp) throws -> [Int64] {
        try pool.write { db in
            if let cursor { try setCursor(cursor.name, cursor.value, db) }
            var ids: [Int64] = []
            for p in postings {
                try db.execute(sql: """
                    INSERT OR IGNORE INTO postings (idempotency_key, target, kind, line, order_id, quantity, payload, sources, status,
                        attempts, next_attempt_at, created_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?)
                    """, arguments: [p.idempotencyKey, p.target, p.kind.rawValue, p.line, p.orderID, p.quantity, p.payload,
                                     Self.json(p.sources), now.milliseconds, now.milliseconds, now.milliseconds])
                if db.changesCount > 0 {
                    ids.append(db.lastInsertedRowID)
                    let created = PostingLifecycle.created(p)
                    try audit(db.lastInsertedRowID, created, now, db)
                }
            }
            for r in reviews {
                if r.quantity == 0 {
                    try db.execute(sql: "DELETE FROM review_items WHERE line = ?", arguments: [r.line.description])
                } else {
                    try db.execute(sql: """
                        INSERT INTO review_items (line, order_id, kind, quantity, reason, sources, first_seen, updated_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                        ON CONFLICT(line) DO UPDATE SET quantity = excluded.quantity, reason = excluded.reason,
                            sources = excluded.sources, updated_at = excluded.updated_at
                        WHERE quantity != excluded.quantity OR reason != excluded.reason
                        """, arguments: [r.line.description, r.line.orderID, r.line.kind.rawValue, r.quantity, r.reason,
                                         Self.json(r.sources), now.milliseconds, now.milliseconds])
                }
            }
            return ids
        }
    }

    /// Appends an entry `PostingLifecycle` decided to posting `id`'s trail, in the caller's transaction.
    func audit(_ id: Int64, _ entry: PostingLifecycle.AuditEntry, _ now: Timestamp, _ db: Database) throws {
        try db.execute(sql: "INSERT INTO posting_audit (posting_id, at, actor, action, detail) VALUES (?, ?, ?, ?, ?)",
                       arguments: [id, now.milliseconds, entry.actor, entry.action.rawValue, entry.detail])
    }

    /// The `sources` column: a JSON array of event keys.
    static func json(_ strings: [String]) -> String {
        String(decoding: (try? JSONEncoder().encode(strings)) ?? Data("[]".utf8), as: UTF8.self)
    }

    static func strings(_ json: String) -> [String] {
        (try? JSONDecoder().decode([String].self, from: Data(json.utf8))) ?? []
    }

    /// Per line: the quantity of every posting made for it (any status) and the events they cite.
    public func postedLines() throws -> (totals: [LineKey: Double], sources: [LineKey: Set<EventKey>], counts: [LineKey: Int]) {
        try pool.read { db in
            var totals: [LineKey: Double] = [:], sources: [LineKey: Set<EventKey>] = [:], counts: [LineKey: Int] = [:]
            for r in try Row.fetchAll(db, sql: "SELECT line, quantity, sources FROM postings WHERE line != ''") {
                guard let key = LineKey(parsing: r["line"]) else { continue }
                totals[key, default: 0] += r["quantity"] as Double
                counts[key, default: 0] += 1
                let cited = Self.strings(r["sources"])
                sources[key, default: []].formUnion(cited.compactMap(EventKey.init(parsing:)))
            }
            return (totals, sources, counts)
        }
    }

    /// Postings due for delivery: pending ones whose time has come, and `sent` ones left by a crash.
    public func duePostings(now: Timestamp, limit: Int) throws -> [Posting] {
        try pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT * FROM postings WHERE status IN ('pending', 'sent') AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?
                """, arguments: [now.milliseconds, limit]).map(Self.posting)
        }
    }

    public func postings(status: Posting.Status? = nil, kind: PostingKind? = nil) throws -> [Posting] {
        try pool.read { db in
            var sql = "SELECT * FROM postings WHERE 1 = 1"
            var args: StatementArguments = []
            if let status { sql += " AND status = ?"; args += [status.rawValue] }
            if let kind { sql += " AND kind = ?"; args += [kind.rawValue] }
            return try Row.fetchAll(db, sql: sql + " ORDER BY id", arguments: args).map(Self.posting)
        }
    }

    public func posting(id: Int64) throws -> Posting? {
        try pool.read { db in try Row.fetchOne(db, sql: "SELECT * FROM postings WHERE id = ?", arguments: [id]).map(Self.posting) }
    }

    public func posting(key: String) throws -> Posting? {
        try pool.read { db in try Row.fetchOne(db, sql: "SELECT * FROM postings WHERE idempotency_key = ?", arguments: [key]).map(Self.posting) }
    }

    public func posting(documentRef: String) throws -> [Posting] {
        try pool.read { db in try Row.fetchAll(db, sql: "SELECT * FROM postings WHERE document_ref = ?", arguments: [documentRef]).map(Self.posting) }
    }

    /// Postings that cite an event.
    public func postings(citing key: EventKey) throws -> [Posting] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM postings WHERE sources LIKE ?", arguments: ["%\"\(key.description)\"%"]).map(Self.posting)
        }
    }

    /// A transition of the posting state machine (`PostingLifecycle`): the row is read and written
    /// in one write transaction, so nothing changes it between the decision and its record. A
    /// single process has no claims to check.
    @discardableResult
    public func record(_ transition: PostingTransition, posting id: Int64, now: Timestamp) throws -> Posting {
        try pool.write { db in
            guard let p = try Row.fetchOne(db, sql: "SELECT * FROM postings WHERE id = ?", arguments: [id]).map(Self.posting) else {
                throw PostingRefusal.noSuchPosting(id)
            }
            let change = try PostingLifecycle.decide(transition, on: p, now: now)
            try db.execute(sql: """
                UPDATE postings SET status = ?, attempts = ?, next_attempt_at = ?, payload = ?, document_ref = ?, last_error = ?, updated_at = ?
                WHERE id = ?
                """, arguments: [change.status.rawValue, change.attempts, change.nextAttemptAt.milliseconds, change.payload, change.documentRef,
                                 change.lastError, now.milliseconds, id])
            for entry in change.audit {
                try audit(id, entry, now, db)
            }
            return p.applying(change, now: now)
        }
    }

    public func audit(postingID: Int64) throws -> [PostingAudit] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM posting_audit WHERE posting_id = ? ORDER BY id", arguments: [postingID]).map { r in
                let name: String = r["action"]
                guard let action = PostingAuditAction(rawValue: name) else {
                    throw StoreError(description: "the audit trail of posting \(postingID) has the unknown action \"\(name)\"")
                }
                return PostingAudit(postingID: r["posting_id"], at: Timestamp(milliseconds: r["at"]), actor: r["actor"], action: action, detail: r["detail"])
            }
        }
    }

    public func reviewItems() throws -> [ReviewItem] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM review_items ORDER BY order_id, line").map { r in
                ReviewItem(line: r["line"], orderID: r["order_id"], kind: r["kind"], quantity: r["quantity"], reason: r["reason"],
                           sources: Self.strings(r["sources"]),
                           firstSeen: Timestamp(milliseconds: r["first_seen"]), updatedAt: Timestamp(milliseconds: r["updated_at"]))
            }
        }
    }

    public func recordTargetHealth(_ target: String, breaker: BreakerState, failures: Int, success: Bool, error: String?, now: Timestamp) throws {
        try pool.write { db in
            try db.execute(sql: """
                INSERT INTO target_health (target, breaker, consecutive_failures, last_success, last_failure, last_error) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(target) DO UPDATE SET breaker = excluded.breaker, consecutive_failures = excluded.consecutive_failures,
                    last_success = COALESCE(excluded.last_success, last_success), last_failure = COALESCE(excluded.last_failure, last_failure),
                    last_error = COALESCE(excluded.last_error, last_error)
                """, arguments: [target, breaker.rawValue, failures, success ? now.milliseconds : nil, success ? nil : now.milliseconds, error])
        }
    }

    public func targetHealth() throws -> [TargetHealth] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM target_health ORDER BY target").map { r in
                let name: String = r["breaker"]
                guard let breaker = BreakerState(rawValue: name) else {
                    throw StoreError(description: "target \(r["target"] as String) has the unknown breaker state \"\(name)\"")
                }
                return TargetHealth(target: r["target"], breaker: breaker, failures: r["consecutive_failures"],
                             lastSuccess: (r["last_success"] as Int64?).map(Timestamp.init(milliseconds:)), lastError: r["last_error"])
            }
        }
    }

    /// A row of `postings`; a kind or status this version does not know is an error, not a default.
    static func posting(_ r: Row) throws -> Posting {
        let id: Int64 = r["id"]
        let kindName: String = r["kind"], statusName: String = r["status"]
        guard let kind = PostingKind(rawValue: kindName) else { throw StoreError(description: "posting \(id) has the unknown kind \"\(kindName)\"") }
        guard let status = Posting.Status(rawValue: statusName) else { throw StoreError(description: "posting \(id) has the unknown status \"\(statusName)\"") }
        return Posting(id: id, idempotencyKey: r["idempotency_key"], target: r["target"], kind: kind, line: r["line"],
                orderID: r["order_id"], quantity: r["quantity"], payload: r["payload"],
                sources: Self.strings(r["sources"]),
                status: status, attempts: r["attempts"],
                nextAttemptAt: Timestamp(milliseconds: r["next_attempt_at"]), documentRef: r["document_ref"], lastError: r["last_error"],
                createdAt: Timestamp(milliseconds: r["created_at"]), updatedAt: Timestamp(milliseconds: r["updated_at"]))
    }
}

extension SyncStore {
    /// See `RetentionNeeds.citedEventKeys`.
    public func citedEventKeys() throws -> Set<String> {
        try pool.read { db in
            var keys = Set<String>()
            for sql in ["SELECT sources FROM postings WHERE status NOT IN ('acked', 'confirmed')", "SELECT sources FROM review_items", "SELECT sources FROM unassigned_spans"] {
                for json in try String.fetchAll(db, sql: sql) { keys.formUnion(Self.strings(json)) }
            }
            return keys
        }
    }
}
