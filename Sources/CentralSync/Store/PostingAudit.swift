import MillwrightCore

/// One line of a posting's audit trail: who did what to it, when. Why its own type: every backend
/// keeps the trail and `postings show` prints it.
public struct PostingAudit: Sendable, Hashable, Codable {
    public var postingID: Int64
    public var at: Timestamp
    public var actor: String
    public var action: PostingAuditAction
    public var detail: String

    public init(postingID: Int64, at: Timestamp, actor: String, action: PostingAuditAction, detail: String) {
        self.postingID = postingID
        self.at = at
        self.actor = actor
        self.action = action
        self.detail = detail
    }
}
