import MillwrightCore

/// What one group commit adds to each edge's record: events offered and stored, batches, the
/// highest boot epoch and sequence number seen, gap events and the drops they report, and the
/// clock samples of what was stored (`EdgeClockSamples`).
///
/// Why one type: every backend counts the same way from the same commit; only the SQL that adds a
/// tally to the stored `edges` row is a backend's own (it used to be counted twice, per batch on
/// SQLite and per edge on PostgreSQL).
package struct EdgeCommitTally {
    package struct Edge: Equatable {
        package var site: String
        package var lastEpoch: Int64 = 0
        package var lastSeq: Int64 = 0
        /// Events offered, new or not.
        package var events: Int64 = 0
        /// Events the commit stored (the rest were already there).
        package var inserted: Int64 = 0
        package var batches: Int64 = 0
        package var gapEvents: Int64 = 0
        package var dropped: Int64 = 0

        package var duplicates: Int64 { events - inserted }
    }

    private var byEdge: [String: Edge] = [:]
    package private(set) var clocks = EdgeClockSamples()

    /// Counts what the batches offer; `stored` then counts what was new.
    package init(_ batches: [ValidBatch]) {
        for b in batches {
            var t = byEdge[b.edge] ?? Edge(site: b.site)
            t.site = b.site
            t.lastEpoch = max(t.lastEpoch, b.events.map(\.bootEpoch).max() ?? 0)
            t.lastSeq = max(t.lastSeq, b.events.map(\.seq).max() ?? 0)
            t.events += Int64(b.events.count)
            t.batches += 1
            byEdge[b.edge] = t
        }
    }

    /// `e`, offered in `batch`, was new to the store.
    package mutating func stored(_ e: StoredEvent, in batch: ValidBatch, now: Timestamp) {
        byEdge[batch.edge, default: Edge(site: batch.site)].inserted += 1
        if e.type == .gap {
            byEdge[batch.edge, default: Edge(site: batch.site)].gapEvents += 1
            byEdge[batch.edge, default: Edge(site: batch.site)].dropped += Int64(e.droppedCount)
        }
        clocks.add(e, now: now)
    }

    /// Per edge, in name order (the order every backend takes the edges' row locks in).
    package var sorted: [(edge: String, totals: Edge)] {
        byEdge.keys.sorted().map { ($0, byEdge[$0]!) }
    }
}
