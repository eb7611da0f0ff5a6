/// What the synchronisation still needs of the stored events, so retention leaves it alone.
///
/// Why a protocol of its own: retention belongs to the ingest's tables, but only the
/// synchronisation knows which events a posting it may still send, a review item or an unassigned
/// span stands on. The reconcile pass itself reads counts back only `reconcile.horizon` old (the
/// configuration keeps counts a day longer) and the immediate tier only after its cursor.
public protocol RetentionNeeds: Sendable {
    /// Keys (`edge:boot_epoch:seq`) of the events cited by postings not yet acknowledged (pending,
    /// sent or dead: each may still be delivered or replayed), by review items and by unassigned spans.
    func citedEventKeys() async throws -> Set<String>
}
