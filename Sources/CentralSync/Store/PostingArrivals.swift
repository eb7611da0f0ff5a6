/// Word from the store that another process made postings due: a reconcile pass on another
/// replica added some, or an operator's `postings replay` (its own process) put one back.
///
/// Why its own concern: without it a dispatcher learns of them only by polling the outbox; with it
/// (PostgreSQL's LISTEN/NOTIFY) every replica's dispatcher looks at once and the poll is only for
/// retries falling due. A backend that cannot tell (the SQLite file: one central process) returns
/// at once, and the dispatcher's poll finds them.
public protocol PostingArrivals: Sendable {
    /// Calls `arrived` each time another process makes postings due, until the task is cancelled
    /// (then returns). Returns at once if this store cannot tell; throws if it lost the way to
    /// (the dispatcher watches again after a pause, polling meanwhile).
    func watchArrivals(_ arrived: @escaping @Sendable () -> Void) async throws
}
