import ArgumentParser
import EdgeAgent
import EdgeConfig
import Foundation
import MillwrightCore

/// Pre-built uplink batches (protocol v1), byte for byte what an edge publishes, for a
/// publisher that must never be the bottleneck.
struct MakeBatches: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "make-batches",
        abstract: "Write protocol-v1 event batches, one per line: TOPIC<TAB>PAYLOAD.",
        discussion: """
            With --from-outbox, the batches are read from an edge outbox in drain order (alarms first, \
            EdgeStore.nextBatch) exactly as UplinkService does. Otherwise --edges simulated edges \
            (EDGE-01, EDGE-02, ...) each get --events fresh events with boot_epoch and seq assigned as \
            the outbox would. Either way the batch JSON is built as UplinkService.encode builds it: the \
            stored envelope bodies (sorted keys) spliced into {"v":1,"batch":...,"events":[...]}.
            """)

    @Option(help: "Output file.")
    var out: String

    @Option(help: "Read the events from this edge outbox instead of generating them.")
    var fromOutbox: String?

    @Option(help: "Simulated edges (ignored with --from-outbox).")
    var edges = 10

    @Option(help: "Events per simulated edge (ignored with --from-outbox).")
    var events = 100_000

    @Option(help: "Site.")
    var site = "bench"

    @Option(help: "Edge id (with --from-outbox) or prefix of the simulated edges' ids.")
    var edge = "bench-gw"

    @Option(help: "Events per batch at most (uplink batch_events).")
    var batchEvents = 500

    @Option(help: "Bytes per batch at most (uplink batch_bytes).")
    var batchBytes = 256 * 1024

    @Option(help: "Events committed longer ago than this (seconds) are flagged is_historical (uplink historical_after).")
    var historicalAfter = 60

    func run() throws {
        guard FileManager.default.createFile(atPath: out, contents: nil), let file = FileHandle(forWritingAtPath: out) else {
            throw ValidationError("cannot write \(out)")
        }
        defer { try? file.close() }
        var writer = BatchWriter(file: file, site: site, historicalAfter: Millis.seconds(Int64(historicalAfter)))
        let start = ContinuousClock.now
        if let path = fromOutbox {
            try fromOutbox(path, &writer)
        } else {
            try simulated(&writer)
        }
        try writer.flush()
        print(String(format: "make-batches: %d batches, %d events, %.1f MB of payload (%.0f bytes per event), %d historical, in %.1f s",
                     writer.batches, writer.events, Double(writer.bytes) / 1e6, Double(writer.bytes) / Double(max(1, writer.events)),
                     writer.historical, seconds(since: start)) + " -> \(out)")
        printResult(["batches": writer.batches, "events": writer.events, "bytes": writer.bytes, "historical": writer.historical])
    }

    /// Drains a copy of the outbox's view the way the uplink does: per class after a cursor, alarms first.
    func fromOutbox(_ path: String, _ writer: inout BatchWriter) throws {
        guard FileManager.default.fileExists(atPath: path) else { throw ValidationError("no outbox at \(path)") }
        var limits = OutboxConfig()
        limits.synchronousFull = false
        let store = try EdgeStore(path: path, site: site, edge: edge, limits: limits)
        var cursors: [PriorityClass: Int64] = [:]
        while true {
            let rows = try store.nextBatch(after: cursors, maxEvents: batchEvents, maxBytes: batchBytes)
            if rows.isEmpty { break }
            for r in rows { cursors[r.priority] = max(cursors[r.priority] ?? 0, r.seq) }
            try writer.write(edge: edge, bootEpoch: store.bootEpoch, rows: rows.map { ($0.body, $0.committedAt) })
        }
    }

    /// Fresh events per simulated edge, encoded as the outbox stores them (sorted keys).
    func simulated(_ writer: inout BatchWriter) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let now = Timestamp.now()
        // Time-based boot epochs, as EdgeStore.nextEpoch gives a new outbox.
        let epoch = now.milliseconds / 1000
        for k in 1...edges {
            let id = edges < 100 && k < 10 ? "\(edge)-0\(k)" : "\(edge)-\(k)"
            var factory = EventFactory(site: site, edge: id, seed: UInt64(k), start: now - Millis.seconds(600))
            var seq: Int64 = 0
            var pending: [(String, Timestamp)] = []
            var pendingBytes = 0
            for var e in factory.make(events) {
                seq += 1
                e.bootEpoch = epoch
                e.seq = seq
                let body = String(decoding: try encoder.encode(e), as: UTF8.self)
                // The uplink's byte limit: a batch closes before the event that would overflow it.
                if !pending.isEmpty && (pending.count == batchEvents || pendingBytes + body.utf8.count > batchBytes) {
                    try writer.write(edge: id, bootEpoch: epoch, rows: pending)
                    pending.removeAll(keepingCapacity: true)
                    pendingBytes = 0
                }
                pending.append((body, now))
                pendingBytes += body.utf8.count
            }
            if !pending.isEmpty { try writer.write(edge: id, bootEpoch: epoch, rows: pending) }
        }
    }
}

/// Builds batch payloads the way `UplinkService.encode` does and appends them to a file.
struct BatchWriter {
    let file: FileHandle
    let site: String
    let historicalAfter: Millis
    var buffer: [UInt8] = []
    var batchCounter: [String: Int] = [:]
    var batches = 0
    var events = 0
    var bytes = 0
    var historical = 0

    init(file: FileHandle, site: String, historicalAfter: Millis) {
        self.file = file
        self.site = site
        self.historicalAfter = historicalAfter
    }

    /// Same text as UplinkService.encode: header, the stored bodies spliced in (is_historical
    /// switched on for old ones), closing brackets.
    static func payload(id: String, site: String, edge: String, rows: [(body: String, committedAt: Timestamp)],
                        now: Timestamp, historicalAfter: Millis) -> (text: String, historical: Int) {
        var historical = 0
        var out = #"{"v":1,"batch":"\#(id)","site":"\#(site)","edge":"\#(edge)","sent_at":"\#(now.rfc3339)","events":["#
        out.reserveCapacity(rows.reduce(200) { $0 + $1.body.utf8.count + 1 })
        for (i, r) in rows.enumerated() {
            if i > 0 { out += "," }
            if now - r.committedAt > historicalAfter {
                historical += 1
                out += r.body.replacingOccurrences(of: #""is_historical":false"#, with: #""is_historical":true"#)
            } else {
                out += r.body
            }
        }
        out += "]}"
        return (out, historical)
    }

    mutating func write(edge: String, bootEpoch: Int64, rows: [(body: String, committedAt: Timestamp)]) throws {
        let n = (batchCounter[edge] ?? 0) + 1
        batchCounter[edge] = n
        let (text, h) = Self.payload(id: "\(bootEpoch)-\(n)", site: site, edge: edge, rows: rows, now: .now(), historicalAfter: historicalAfter)
        buffer += Array(UplinkTopics.events(site: site, edge: edge).utf8)
        buffer.append(9)
        buffer += Array(text.utf8)
        buffer.append(10)
        batches += 1
        events += rows.count
        bytes += text.utf8.count
        historical += h
        if buffer.count > 8 << 20 { try flush() }
    }

    mutating func flush() throws {
        try file.write(contentsOf: buffer)
        buffer.removeAll(keepingCapacity: true)
    }
}
