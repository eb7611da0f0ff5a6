/// The postings one replica has claimed and not finished, for `status`.
///
/// Why: with several replicas, "who is delivering what" and "what did a stopped replica leave
/// behind" are the questions an operator asks first; claims that are still counted after their
/// expiry belong to a replica that stopped, and the next claimant takes them over (looking each
/// change up at its target first).
public struct PostingClaims: Sendable, Hashable {
    public var holder: String
    /// Claims still valid: postings this replica is delivering now.
    public var active: Int
    /// Claims past their `store.claim_ttl`: left by a replica that stopped; free for the next claimant.
    public var expired: Int

    public init(holder: String, active: Int, expired: Int) {
        self.holder = holder
        self.active = active
        self.expired = expired
    }
}
