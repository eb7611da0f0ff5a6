import CentralIngest
import CentralSync
import Foundation
import GRDB
import MillwrightCore
import Reconciliation

/// The synchronisation tables, in the central's SQLite file beside the ingested events: ERP master
/// data, MES assignment changes, the postings outbox with its audit trail, the review queue,
/// unassigned production and feed cursors. Its own migrator; shipped migrations are never edited.
/// Its calls block on the file: the rest of the central uses it through `SQLiteSyncState`.
///
/// Why a pool of its own on the ingest's file: the two share no transaction (the synchronisation
/// reads events only through the ingest's feed), so neither reaches into the other's connections;
/// SQLite serialises their writes (immediate transactions, each pool waiting for the other's lock
/// up to its busy timeout), and WAL readers never wait.
public final class SyncStore: Sendable {
    public struct StoreError: Error, CustomStringConvertible {
        public let description: String
    }

    public let path: String
    let pool: DatabasePool

    /// How long a write waits for the ingest's to finish before it fails (the pass retries).
    static let busyTimeout: TimeInterval = 30

    /// Opens the sync tables in `central`'s file (opened first: it makes the file and turns on WAL).
    public convenience init(central: CentralStore) throws(StoreError) {
        try self.init(path: central.path)
    }

    public init(path: String) throws(StoreError) {
        self.path = path
        do {
            pool = try SQLitePool.open(path: path, busyTimeout: Self.busyTimeout)
            try Self.migrator.migrate(pool)
        } catch {
            throw StoreError(description: "cannot prepare the sync tables in \(path): \(error)")
        }
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("sync v1: master data, assignments, clocks, postings, review") { db in
            // As shipped, this also created the ingest's events_equipment_time index; the ingest's own
            // migration v3 creates it (the ingest's tables are the ingest's).
            try db.execute(sql: """
                CREATE TABLE erp_orders (
                    id INTEGER PRIMARY KEY,
                    number TEXT NOT NULL,
                    reference TEXT NOT NULL,
                    state TEXT NOT NULL,
                    body TEXT NOT NULL,
                    imported_at INTEGER NOT NULL,
                    closed_seen_at INTEGER
                );
                CREATE INDEX erp_orders_reference ON erp_orders(reference);
                CREATE INDEX erp_orders_number ON erp_orders(number);
                CREATE TABLE assignment_changes (
                    id INTEGER PRIMARY KEY,
                    equipment TEXT NOT NULL,
                    order_ref TEXT NOT NULL,
                    operation TEXT NOT NULL DEFAULT '',
                    action TEXT NOT NULL,
                    at INTEGER NOT NULL,
                    source TEXT NOT NULL,
                    received_at INTEGER NOT NULL,
                    UNIQUE(equipment, order_ref, operation, action, at)
                );
                CREATE TABLE edge_clocks (
                    edge TEXT NOT NULL,
                    boot_epoch INTEGER NOT NULL,
                    offset_ms INTEGER NOT NULL,
                    samples INTEGER NOT NULL,
                    PRIMARY KEY (edge, boot_epoch)
                ) WITHOUT ROWID;
                CREATE TABLE cursors (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
                CREATE TABLE postings (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    idempotency_key TEXT NOT NULL UNIQUE,
                    target TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    line TEXT NOT NULL DEFAULT '',
                    order_id INTEGER,
                    quantity REAL NOT NULL DEFAULT 0,
                    payload TEXT NOT NULL,
                    sources TEXT NOT NULL,
                    status TEXT NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    next_attempt_at INTEGER NOT NULL,
                    document_ref TEXT,
                    last_error TEXT,
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL
                );
                CREATE INDEX postings_due ON postings(status, next_attempt_at);
                CREATE INDEX postings_line ON postings(line);
                CREATE INDEX postings_document ON postings(document_ref);
                CREATE TABLE posting_audit (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    posting_id INTEGER NOT NULL,
                    at INTEGER NOT NULL,
                    actor TEXT NOT NULL,
                    action TEXT NOT NULL,
                    detail TEXT NOT NULL
                );
                CREATE TABLE review_items (
                    line TEXT PRIMARY KEY,
                    order_id INTEGER NOT NULL,
                    kind TEXT NOT NULL,
                    quantity REAL NOT NULL,
                    reason TEXT NOT NULL,
                    sources TEXT NOT NULL,
                    first_seen INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE TABLE target_health (
                    target TEXT PRIMARY KEY,
                    breaker TEXT NOT NULL,
                    consecutive_failures INTEGER NOT NULL,
                    last_success INTEGER,
                    last_failure INTEGER,
                    last_error TEXT
                ) WITHOUT ROWID;
                """)
        }
        m.registerMigration("sync v2: unassigned production, operator assignments") { db in
            try db.execute(sql: """
                CREATE TABLE unassigned_spans (
                    equipment TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    material TEXT NOT NULL,
                    after_ms INTEGER,
                    before_ms INTEGER,
                    from_ms INTEGER NOT NULL,
                    to_ms INTEGER NOT NULL,
                    quantity REAL NOT NULL,
                    sources TEXT NOT NULL,
                    first_seen INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL
                );
                ALTER TABLE assignment_changes ADD COLUMN operator TEXT;
                """)
        }
        m.registerMigration("sync v3: cursors hold feed positions; edge clocks are learned by the ingest") { db in
            try db.execute(sql: """
                ALTER TABLE cursors ADD COLUMN position TEXT;
                DELETE FROM cursors WHERE name = 'edge_clocks';
                DROP TABLE edge_clocks;
                """)
        }
        m.registerMigration("sync v4: leases") { db in
            try db.execute(sql: """
                CREATE TABLE leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, token INTEGER NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID;
                """)
        }
        return m
    }

    // MARK: cursors

    /// Where the reader `name` is in the event feed (`FeedPosition`; a bare row id if saved before positions).
    public func cursor(_ name: String) throws -> FeedPosition {
        try pool.read { try cursor(name, $0) }
    }

    func cursor(_ name: String, _ db: Database) throws -> FeedPosition {
        guard let r = try Row.fetchOne(db, sql: "SELECT value, position FROM cursors WHERE name = ?", arguments: [name]) else { return .start }
        return Self.position(r)
    }

    private static func position(_ r: Row) -> FeedPosition {
        if let text: String = r["position"], let p = FeedPosition(parsing: text) { return p }
        return FeedPosition(row: r["value"])
    }

    /// Every saved cursor, by reader name.
    static func cursors(_ db: Database) throws -> [String: FeedPosition] {
        var out: [String: FeedPosition] = [:]
        for r in try Row.fetchAll(db, sql: "SELECT name, value, position FROM cursors") {
            out[r["name"]] = position(r)
        }
        return out
    }

    func setCursor(_ name: String, _ position: FeedPosition, _ db: Database) throws {
        try db.execute(sql: """
            INSERT INTO cursors (name, value, position) VALUES (?, ?, ?)
            ON CONFLICT(name) DO UPDATE SET value = excluded.value, position = excluded.position
            """, arguments: [name, position.row, position.description])
    }

    // MARK: master data

    public func upsertOrders(_ orders: [ERPOrder], now: Timestamp) throws {
        let rows = try orders.map { try StoredOrder($0, importedAt: now) }
        try pool.write { db in
            for o in rows {
                try db.execute(sql: """
                    INSERT INTO erp_orders (id, number, reference, state, body, imported_at, closed_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT(id) DO UPDATE SET number = excluded.number, reference = excluded.reference, state = excluded.state,
                        body = excluded.body, imported_at = excluded.imported_at,
                        closed_seen_at = COALESCE(erp_orders.closed_seen_at, excluded.closed_seen_at)
                    """, arguments: [o.id, o.number, o.reference, o.state, o.body, o.importedAt, o.closedSeenAt])
            }
        }
    }

    /// When each order was last imported (changed in the ERP or first seen), by order id.
    public func orderImportTimes() throws -> [Int64: Timestamp] {
        try pool.read { db in
            var out: [Int64: Timestamp] = [:]
            for r in try Row.fetchAll(db, sql: "SELECT id, imported_at FROM erp_orders") {
                out[r["id"]] = Timestamp(milliseconds: r["imported_at"])
            }
            return out
        }
    }

    public func orders() throws -> [Int64: ERPOrder] {
        try pool.read { db in
            var out: [Int64: ERPOrder] = [:]
            for body in try String.fetchAll(db, sql: "SELECT body FROM erp_orders") {
                let o = try StoredOrder.order(body: body)
                out[o.id] = o
            }
            return out
        }
    }

    // MARK: assignments

    /// Records a start or stop of an order (by ERP reference or number) on equipment. Idempotent.
    /// `source` is "mes", "erp" or "operator" (`operator` then names who assigned).
    @discardableResult
    public func recordAssignmentChange(equipment: String, orderRef: String, operation: String = "", action: AssignmentChange.Action,
                                       at: Timestamp, source: AssignmentSource, operator: String? = nil, now: Timestamp) throws -> Bool {
        try pool.write { db in
            try db.execute(sql: """
                INSERT OR IGNORE INTO assignment_changes (equipment, order_ref, operation, action, at, source, received_at, operator)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [equipment, orderRef, operation, action.rawValue, at.milliseconds, source.rawValue, now.milliseconds, `operator`])
            return db.changesCount > 0
        }
    }

    public func assignmentChanges() throws -> [AssignmentRecord] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT equipment, order_ref, operation, action, at, source, received_at, operator FROM assignment_changes ORDER BY at, rowid").map { r in
                // A value this version does not know is an error, not a change left out of the timeline.
                let actionName: String = r["action"], sourceName: String = r["source"]
                guard let action = AssignmentChange.Action(rawValue: actionName) else {
                    throw StoreError(description: "an assignment change of \(r["equipment"] as String) has the unknown action \"\(actionName)\"")
                }
                guard let source = AssignmentSource(rawValue: sourceName) else {
                    throw StoreError(description: "an assignment change of \(r["equipment"] as String) has the unknown source \"\(sourceName)\"")
                }
                return AssignmentRecord(equipment: r["equipment"], orderRef: r["order_ref"], operation: r["operation"], action: action,
                                 at: Timestamp(milliseconds: r["at"]), source: source, receivedAt: Timestamp(milliseconds: r["received_at"]),
                                 operator: r["operator"])
            }
        }
    }

    // MARK: unassigned production

    /// Replaces the unassigned spans with this pass's (derived state, like the ledger), keeping when
    /// each was first seen.
    public func replaceUnassigned(_ spans: [UnassignedSpan], now: Timestamp) throws {
        try pool.write { db in
            var firstSeen: [UnassignedSpan.Gap: Int64] = [:]
            for r in try Row.fetchAll(db, sql: "SELECT equipment, kind, material, after_ms, first_seen FROM unassigned_spans") {
                let after: Int64? = r["after_ms"]
                guard let kind = QuantityKind(rawValue: r["kind"]) else { continue }
                firstSeen[UnassignedSpan.Gap(equipment: r["equipment"], kind: kind, material: r["material"],
                                             after: after.map(Timestamp.init(milliseconds:)))] = r["first_seen"]
            }
            try db.execute(sql: "DELETE FROM unassigned_spans")
            for s in spans {
                try db.execute(sql: """
                    INSERT INTO unassigned_spans (equipment, kind, material, after_ms, before_ms, from_ms, to_ms, quantity, sources, first_seen, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [s.equipment, s.kind.rawValue, s.material, s.after?.milliseconds, s.before?.milliseconds,
                                     s.from.milliseconds, s.to.milliseconds, s.quantity, Self.json(s.events.sorted().map(\.description)),
                                     firstSeen[s.gap] ?? now.milliseconds, now.milliseconds])
            }
        }
    }

    /// Counts no order covers, per equipment and gap between its assignments, as the last pass saw them.
    public func unassigned() throws -> [UnassignedItem] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM unassigned_spans ORDER BY equipment, from_ms, kind, material").compactMap { r in
                guard let kind = QuantityKind(rawValue: r["kind"]) else { return nil }
                let after: Int64? = r["after_ms"], before: Int64? = r["before_ms"]
                let span = UnassignedSpan(equipment: r["equipment"], kind: kind, material: r["material"],
                                          after: after.map(Timestamp.init(milliseconds:)), before: before.map(Timestamp.init(milliseconds:)),
                                          from: Timestamp(milliseconds: r["from_ms"]), to: Timestamp(milliseconds: r["to_ms"]),
                                          quantity: r["quantity"], events: Set(Self.strings(r["sources"]).compactMap(EventKey.init(parsing:))))
                return UnassignedItem(span: span, firstSeen: Timestamp(milliseconds: r["first_seen"]), updatedAt: Timestamp(milliseconds: r["updated_at"]))
            }
        }
    }

    // MARK: leases

    /// One central process per SQLite file: a lease here only names who runs the jobs (for
    /// `status`); there is no other replica to fence against.
    public func acquire(_ name: String, holder: String, ttl: Duration, now: Timestamp = .now()) throws -> Lease? {
        let expires = now.milliseconds + ttl.components.seconds * 1000 + ttl.components.attoseconds / 1_000_000_000_000_000
        return try pool.write { db in
            try db.execute(sql: """
                INSERT INTO leases (name, holder, token, expires_at) VALUES (?, ?, 1, ?)
                ON CONFLICT(name) DO UPDATE SET token = CASE WHEN holder = excluded.holder THEN token ELSE token + 1 END,
                    holder = excluded.holder, expires_at = excluded.expires_at
                WHERE holder = excluded.holder OR expires_at < ?
                """, arguments: [name, holder, expires, now.milliseconds])
            guard let r = try Row.fetchOne(db, sql: "SELECT holder, token, expires_at FROM leases WHERE name = ?", arguments: [name]),
                  (r["holder"] as String) == holder else { return nil }
            return Lease(name: name, holder: holder, token: r["token"], expiresAt: Timestamp(milliseconds: r["expires_at"]))
        }
    }

    public func release(_ name: String, holder: String) throws {
        try pool.write { db in
            try db.execute(sql: "UPDATE leases SET expires_at = 0 WHERE name = ? AND holder = ?", arguments: [name, holder])
        }
    }

    public func leases() throws -> [Lease] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT name, holder, token, expires_at FROM leases ORDER BY name").map {
                Lease(name: $0["name"], holder: $0["holder"], token: $0["token"], expiresAt: Timestamp(milliseconds: $0["expires_at"]))
            }
        }
    }
}
