import MillwrightCore

/// Decides what an ack from the central broker may delete from the outbox.
///
/// Why: anyone who can publish on the edge's ack topic could otherwise make it delete its buffer
/// (a forged `committed: [[1, 1000000000]]`, a genuine ack replayed after the data folder was
/// recreated, a refusal the central sent for a batch someone else published in this edge's name).
/// An ack is trusted only as far as this edge can check it itself: it must name a batch this
/// process sent (in flight, or sent and then resent, within `remembered` batches), in this boot
/// epoch, and it lets go only of sequence numbers that batch carried. Anything else deletes nothing
/// and is counted by reason; the worst a wrongly refused genuine ack costs is a resend, which the
/// central deduplicates. Pure state: the uplink feeds it what it sent and what arrived.
struct AckGate: Sendable {
    /// Batches sent earlier and resent since (after a timeout, a reconnect, a replica's loss): an
    /// ack for one may still arrive and is honoured, within its ranges. Bounded, oldest forgotten.
    static let remembered = 4096
    /// Acknowledged batch ids kept to tell a repeated ack from a forged one (both delete nothing).
    static let rememberedAcks = 1024

    let epoch: Int64
    private var superseded: [String: [SeqRange]] = [:]
    private var supersededOrder: [String] = []
    private var acknowledged: Set<String> = []
    private var acknowledgedOrder: [String] = []

    init(epoch: Int64) {
        self.epoch = epoch
    }

    /// What an ack may do.
    enum Verdict: Equatable {
        /// Delete these ranges (inside the batch); `rejected` events of them the central refused.
        case accept(delete: [SeqRange], rejected: Int)
        /// Delete nothing.
        case ignore(AckRefusal)
    }

    /// The batches of `inflight` are being resent: acks for them stay valid for a while.
    mutating func supersede(_ batches: [String: [SeqRange]]) {
        for (id, ranges) in batches where superseded[id] == nil {
            superseded[id] = ranges
            supersededOrder.append(id)
        }
        if supersededOrder.count > Self.remembered {
            let drop = supersededOrder.count - Self.remembered
            for id in supersededOrder.prefix(drop) { superseded[id] = nil }
            supersededOrder.removeFirst(drop)
        }
    }

    /// What a batch sent and then resent carried, while it is remembered.
    func resent(_ batch: String) -> [SeqRange]? { superseded[batch] }

    /// A resent batch whose answer was handled elsewhere (refused for its size): later acks of it
    /// delete nothing.
    mutating func forget(_ batch: String) {
        guard dropResent(batch) else { return }
        remember(batch)
    }

    /// Judges `ack`; `inflight` holds the ranges of the batch it names if that batch is in flight.
    /// An accepted ack's batch is forgotten (a second ack for it deletes nothing).
    mutating func judge(_ ack: UplinkAck, inflight: [SeqRange]?) -> Verdict {
        if let e = ack.epoch, e != epoch { return .ignore(.otherEpoch) }
        guard let carried = inflight ?? superseded[ack.batch] else {
            return .ignore(acknowledged.contains(ack.batch) ? .alreadyAcknowledged : .unknownBatch)
        }
        let named = ack.committed + ack.rejected
        guard named.allSatisfy({ r in carried.contains { $0.from <= r.from && r.to <= $0.to } }) else {
            return .ignore(.outsideBatch)
        }
        dropResent(ack.batch)
        remember(ack.batch)
        if ack.batchRefused == true {
            return .accept(delete: carried, rejected: Int(carried.reduce(0) { $0 + $1.count }))
        }
        return .accept(delete: named, rejected: Int(ack.rejected.reduce(0) { $0 + $1.count }))
    }

    /// Takes `batch` off the resent list; whether it was there.
    @discardableResult
    private mutating func dropResent(_ batch: String) -> Bool {
        guard superseded.removeValue(forKey: batch) != nil else { return false }
        supersededOrder.removeAll { $0 == batch }
        return true
    }

    private mutating func remember(_ batch: String) {
        guard acknowledged.insert(batch).inserted else { return }
        acknowledgedOrder.append(batch)
        if acknowledgedOrder.count > Self.rememberedAcks {
            acknowledged.remove(acknowledgedOrder.removeFirst())
        }
    }
}
