/// What the reconcile pass produces and the dispatcher works through, as one store: the postings
/// outbox with its claims and audit trail, the feed cursors, the review queue, unassigned
/// production, each target's health, and word of postings another process made due.
///
/// Why a composition of narrow protocols: each concern has its own contract (PostingsStoreContractTests
/// checks each on every backend), and a consumer asks only for the concerns it uses (the dispatcher:
/// the outbox and target health). Several replicas on one PostgreSQL must claim postings without
/// sending one twice, and the embedded SQLite file must behave the same for one process.
public typealias PostingsStore = PostingOutbox & FeedCursors & ReviewQueue & UnassignedProduction & TargetHealthStore & PostingArrivals

/// The synchronisation's whole state: master data, the pass's outputs, and who runs the jobs.
public typealias SyncState = MasterDataStore & PostingsStore & LeaseStore & RetentionNeeds

