/// Quantities an operator must look at: late data for a closed order, a reduction after posting,
/// a line nothing is routed for. Set and cleared by `PostingOutbox.apply` with the pass's postings.
///
/// Why its own protocol: the ledger, the trace, `review` and `status` read it; only the pass writes it.
public protocol ReviewQueue: Sendable {
    func reviewItems() async throws -> [ReviewItem]
}
