import MillwrightCore

/// What retention needs from the event store: the expired events of a type, oldest first; deleting
/// them in small transactions; putting archived ones back; the store's size and oldest events for
/// `status`; holds that keep a time range; and the record of each run.
///
/// Why a protocol of its own: retention runs beside the ingest without taking its queue or its
/// writer for long (every call is one short statement or transaction), and each backend keeps its
/// SQL in its own folder.
public protocol RetentionStore: Sendable {
    /// Events of `type` whose event time and arrival at the central are both before `before`,
    /// ordered by event time then row, after `after` (nil: from the oldest), at or before `upTo` in
    /// the feed (nil: anywhere), never the newest row of the table, at most `limit`.
    /// `period`: one a `dropExpiredPeriods` left for rows; nil: where no period applies (SQLite: the
    /// table; PostgreSQL: the class's default partition).
    func expiredEvents(type: String, before: Timestamp, after: RetentionPosition?, upTo: FeedPosition?, limit: Int,
                       in period: String?) async throws -> [EventRow]

    /// Makes the periods the coming events go to, when the store has periods (PostgreSQL: a
    /// partition per class and month, from each class's retention ago to three months ahead).
    func preparePeriods(_ settings: RetentionSettings, now: Timestamp) async throws

    /// Drops, each in one statement, the whole periods of `c` that ended before `before` and hold
    /// nothing `keep` names, after handing their events to `archive`; returns how many events went,
    /// and the expired periods left because they hold something still needed (for the row path).
    /// A store without periods (SQLite) returns (0, []).
    func dropExpiredPeriods(_ c: RetentionClass, before: Timestamp, keep: RetentionKeep,
                            archive: (@Sendable ([EventRow]) throws -> Void)?) async throws -> (deleted: Int, remaining: [String])

    /// Deletes these events (found by `expiredEvents` in `period`) in one transaction; returns how many went.
    func deleteEvents(_ events: [EventRow], in period: String?) async throws -> Int

    /// Puts archived events back, each once (a key already stored is left as it is), where the
    /// event feeds do not read them again; returns how many were new.
    func restore(_ events: [EventRow]) async throws -> Int

    /// Per stored type, the oldest event time.
    func oldestEvents() async throws -> [String: Timestamp]

    /// The store's size on disk in bytes (the SQLite file with its WAL; PostgreSQL's database).
    func storeBytes() async throws -> Int64

    /// The file system holding the store, as (size, free) in bytes, when the central can see it.
    func volume() async throws -> (size: Int64, free: Int64)?

    func addHold(_ hold: RetentionHoldRange) async throws
    /// Holds still in force at `now` (expired ones are removed).
    func holds(now: Timestamp) async throws -> [RetentionHoldRange]

    /// When this process's ingest last committed to the store, where a run should make way for it
    /// (SQLite's single writer); nil where deleting does not hold the ingest back (PostgreSQL).
    var ingestActivity: IngestActivity? { get }
    func recordRun(_ run: RetentionRun) async throws
    func lastRun() async throws -> RetentionRun?
}

/// What a retention run must not delete: events after the immediate tier's cursor, events the
/// synchronisation cites (`edge:boot_epoch:seq`), held ranges; with the newest row and events that
/// arrived after the cut-off, which every backend keeps by itself.
public struct RetentionKeep: Sendable {
    public var upTo: FeedPosition?
    public var cited: Set<String>
    public var holds: [RetentionHoldRange]

    public init(upTo: FeedPosition?, cited: Set<String>, holds: [RetentionHoldRange]) {
        self.upTo = upTo
        self.cited = cited
        self.holds = holds
    }

    /// Whether `e` must stay for the synchronisation or a hold (the store checks the rest).
    public func keeps(_ e: EventRow) -> Bool { cited.contains(e.key) || holds.contains { $0.covers(e) } }
}

/// Where a retention scan of one type stopped: event time, then row.
public struct RetentionPosition: Sendable, Hashable {
    public var occurredAt: Timestamp
    public var row: Int64

    public init(occurredAt: Timestamp, row: Int64) {
        self.occurredAt = occurredAt
        self.row = row
    }
}

/// Events of a site and time range kept whatever their age until `until` (made by `archive load`,
/// so loaded events stay for the trace they were loaded for).
public struct RetentionHoldRange: Sendable, Hashable, Codable {
    public var site: String
    public var from: Timestamp
    public var to: Timestamp
    public var until: Timestamp
    public var reason: String

    public init(site: String, from: Timestamp, to: Timestamp, until: Timestamp, reason: String) {
        self.site = site
        self.from = from
        self.to = to
        self.until = until
        self.reason = reason
    }

    public func covers(_ e: EventRow) -> Bool { e.site == site && e.occurredAt >= from && e.occurredAt < to }
}

/// One retention run, as `status` shows the last.
public struct RetentionRun: Sendable, Hashable, Codable {
    public var startedAt: Timestamp
    public var finishedAt: Timestamp
    /// Per class (`RetentionClass` raw values): deleted, archived, and kept because still needed.
    public var deleted: [String: Int]
    public var archived: Int
    public var kept: Int
    /// Why it stopped early, if it did.
    public var error: String?

    public init(startedAt: Timestamp, finishedAt: Timestamp, deleted: [String: Int], archived: Int, kept: Int, error: String?) {
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.deleted = deleted
        self.archived = archived
        self.kept = kept
        self.error = error
    }
}
