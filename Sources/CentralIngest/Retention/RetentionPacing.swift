import Synchronization

/// How a retention run shares the store with the ingest: while the ingest is committing (a commit
/// within `activeWindow`), the run pauses before each chunk (for what the last one took, scaled) so
/// that deleting takes at most `pace` of its time; on a store nobody is writing to it runs at full
/// speed.
///
/// Why: SQLite has one writer. A run deleting at full speed beside a busy ingest took ~45% of the
/// ingest's rate away (bench/retention-soak); paced at the default (5%) it takes about a tenth at most, and a
/// run on an idle night is no slower than before.
public struct RetentionPacing: Sendable, Hashable {
    public var pace: Double
    public var activeWindow: Duration
    /// The longest pause after one chunk, whatever the chunk took.
    public var maximumPause: Duration

    public init(pace: Double, activeWindow: Duration = .seconds(1), maximumPause: Duration = .seconds(10)) {
        self.pace = pace
        self.activeWindow = activeWindow
        self.maximumPause = maximumPause
    }

    /// The pause before a chunk when the last one took `chunk`, given whether the ingest is active.
    public func pause(after chunk: Duration, ingestActive: Bool) -> Duration {
        guard ingestActive, pace > 0, pace < 1 else { return .zero }
        return min(maximumPause, chunk * ((1 - pace) / pace))
    }
}

/// When the ingest last committed, for a retention run to pace itself by. Kept in memory by the
/// store the ingest commits through; a process that does not ingest has none.
public final class IngestActivity: Sendable {
    let last = Mutex<ContinuousClock.Instant?>(nil)

    public init() {}

    public func noteCommit() { last.withLock { $0 = .now } }

    /// Whether the ingest committed within `window`.
    public func isActive(within window: Duration) -> Bool {
        guard let t = last.withLock({ $0 }) else { return false }
        return ContinuousClock.now - t < window
    }
}
