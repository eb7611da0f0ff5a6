import CentralIngest
import Foundation
import MillwrightCore
import Reconciliation

/// From an ERP document back to the postings, events and edges that produced it, and forward from
/// an event to the postings and review items that cite it.
public struct Trace: Sendable {
    let store: any SyncState
    let events: any IngestStore

    public init(store: any SyncState, events: any IngestStore) {
        self.store = store
        self.events = events
    }

    public struct EventSummary: Sendable, Hashable, Codable {
        public var key: String
        public var equipment: String
        public var signal: String
        public var type: EventType
        public var occurredAt: String
        public var centralReceivedAt: String
    }

    public struct Back: Sendable {
        public var postings: [Posting]
        public var events: [EventSummary]
        public var edges: [String]
        /// Cited events no longer in the store: retention deleted them (and archived them, when
        /// `retention.archive` is set); `archive load` puts them back.
        public var missing: [String]
    }

    public func back(document: String) async throws -> Back {
        let postings = try await store.posting(documentRef: document)
        var found: [EventSummary] = []
        var missing: [String] = []
        for p in postings {
            for s in p.sources {
                guard let key = EventKey(parsing: s) else { continue }
                guard let row = try await events.event(edge: key.edge, bootEpoch: key.bootEpoch, seq: key.seq) else {
                    missing.append(s)
                    continue
                }
                found.append(EventSummary(key: s, equipment: row.equipment, signal: row.signal, type: row.type,
                                           occurredAt: row.occurredAt.rfc3339, centralReceivedAt: row.centralReceivedAt.rfc3339))
            }
        }
        let edges = Set(found.compactMap { EventKey(parsing: $0.key)?.edge }).union(missing.compactMap { EventKey(parsing: $0)?.edge })
        return Back(postings: postings, events: found, edges: edges.sorted(), missing: missing)
    }

    public struct Forward: Sendable {
        public var event: EventSummary?
        public var postings: [Posting]
        public var review: [ReviewItem]
    }

    public func forward(event key: EventKey) async throws -> Forward {
        let row = try await events.event(edge: key.edge, bootEpoch: key.bootEpoch, seq: key.seq)
        return Forward(event: row.map { EventSummary(key: key.description, equipment: $0.equipment, signal: $0.signal, type: $0.type,
                                                    occurredAt: $0.occurredAt.rfc3339, centralReceivedAt: $0.centralReceivedAt.rfc3339) },
                       postings: try await store.postings(citing: key),
                       review: try await store.reviewItems().filter { $0.sources.contains(key.description) })
    }
}
