import MillwrightCore

/// What one commit teaches about each edge incarnation's clock: the smallest central-minus-edge
/// receive time over its newly stored live events, and how many there were.
///
/// Why at commit: every backend learns the same offsets from the same events as it stores them,
/// instead of a later pass scanning the events table.
package struct EdgeClockSamples {
    package struct Sample: Hashable {
        package var edge: String
        package var bootEpoch: Int64
        package var offset: Int64
        package var samples: Int64
    }

    private var byIncarnation: [String: Sample] = [:]

    package init() {}

    /// Counts `e` if it is live (a backlog's receive times say nothing about transit) and not a gap record.
    package mutating func add(_ e: StoredEvent, now: Timestamp) {
        guard !e.isHistorical, e.type != .gap else { return }
        let offset = now.milliseconds &- e.edgeReceivedAt.milliseconds
        let key = "\(e.edge):\(e.bootEpoch)"
        if var s = byIncarnation[key] {
            s.offset = min(s.offset, offset)
            s.samples += 1
            byIncarnation[key] = s
        } else {
            byIncarnation[key] = Sample(edge: e.edge, bootEpoch: e.bootEpoch, offset: offset, samples: 1)
        }
    }

    /// In key order, so concurrent writers lock rows in the same order.
    package var sorted: [Sample] { byIncarnation.keys.sorted().map { byIncarnation[$0]! } }
}
