import MillwrightCore

/// How long the central keeps stored events, per class, and what it does before deleting them
/// (`retention:` in the configuration; central/README.md lists every key).
///
/// Why a value type in the ingest: the events are the ingest's tables; the synchronisation only
/// says which of them it still needs (`RetentionHold`).
public struct RetentionSettings: Sendable, Hashable {
    /// Per class: keep this long after the event's time (and after it reached the central); nil
    /// keeps the class for ever.
    public var keep: [RetentionClass: Millis?] = [
        .alarms: .days(730), .counts: .days(730), .states: .days(365), .summaries: .days(90), .gaps: .days(730),
    ]
    /// How often a retention run starts.
    public var every = Millis.hours(1)
    /// Events deleted per transaction: small enough that the ingest's commits go between them.
    public var chunk = 2000
    /// While the ingest is committing, the share of a run's time spent deleting (it pauses between
    /// chunks for the rest); 1 never pauses. See `RetentionPacing`.
    public var pace = 0.05
    /// Where deleted events are archived first (one gzip'd JSON-lines file per day and site); nil: no archive.
    public var archiveDir: String?
    /// `status` and the log warn when the store fills this share of its volume.
    public var volumeWarning = 0.8
    /// The volume's size for that warning when the central cannot see it (PostgreSQL); nil: the
    /// data_dir's file system (SQLite), or no warning.
    public var volumeBytes: Int64?

    /// The shortest retention a class may have: longer than any edge's outbox holds an event, so
    /// an event is never deleted while its edge may still send it again.
    public static let minimum = Millis.days(7)

    public init() {}

    /// The retention of `c`, nil for ever.
    public func retention(_ c: RetentionClass) -> Millis? { keep[c] ?? nil }
}
