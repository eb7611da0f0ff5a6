import MillwrightCore

/// Leases for the jobs only one central replica may run at a time (the ERP import, the reconcile
/// pass, planning snapshots).
///
/// Why in the store: the replicas share nothing else. A lease lives in the database on the
/// database's clock; its holder renews it before each run, another replica takes it once it has
/// expired, and every write a job makes is fenced: it commits only while the lease it ran under
/// (name, holder, token) is still held, so a replica that was paused past its lease and wakes
/// mid-job cannot act on the lease it lost.
public protocol LeaseStore: Sendable {
    /// Takes or renews `name` for `holder` for `ttl`. Returns the lease, or nil while another
    /// holder's lease is valid. A takeover increments the token.
    func acquire(_ name: String, holder: String, ttl: Duration) async throws -> Lease?

    /// Gives the lease up at once (a clean stop), if `holder` has it.
    func release(_ name: String, holder: String) async throws

    /// Every lease, for `status`.
    func leases() async throws -> [Lease]
}

/// A held lease: who, which generation, and until when on the store's clock.
public struct Lease: Sendable, Hashable {
    public var name: String
    public var holder: String
    public var token: Int64
    public var expiresAt: Timestamp

    public init(name: String, holder: String, token: Int64, expiresAt: Timestamp) {
        self.name = name
        self.holder = holder
        self.token = token
        self.expiresAt = expiresAt
    }

    /// The lease a job is running under: every store write of the job checks it (`LeaseFence`).
    @TaskLocal public static var current: Lease?
}

/// A write refused because the lease it ran under was lost (expired and taken over).
public struct LeaseLost: Error, CustomStringConvertible {
    public let lease: Lease
    public init(_ lease: Lease) { self.lease = lease }
    public var description: String { "the \(lease.name) lease (token \(lease.token)) is no longer held by \(lease.holder); write refused" }
}
