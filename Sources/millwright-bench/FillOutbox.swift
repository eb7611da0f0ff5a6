import ArgumentParser
import EdgeAgent
import EdgeConfig
import Foundation
import MillwrightCore

/// Fills an edge outbox with a backlog, as an outage would leave it.
struct FillOutbox: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fill-outbox",
        abstract: "Commit N events to an edge outbox (synchronous=NORMAL, large groups): a backlog to drain.",
        discussion: """
            The events are committed with a commit time --age seconds in the past (an outage), so the \
            edge sends them flagged is_historical, as it would after a real outage.
            """)

    @Option(help: "The outbox file (an edge's data_dir/edge.sqlite).")
    var path: String

    @Option(help: "Events to add.")
    var events = 1_000_000

    @Option(help: "Events per commit.")
    var batch = 10_000

    @Option(help: "Site of the edge that will drain it.")
    var site = "bench"

    @Option(help: "Edge id of the edge that will drain it.")
    var edge = "bench-gw"

    @Option(help: "How long ago (seconds) the backlog was committed.")
    var age = 3600

    @Option(help: "Seed of the event mix.")
    var seed: UInt64 = 7

    func run() throws {
        var limits = OutboxConfig()
        limits.synchronousFull = false
        let store = try EdgeStore(path: path, site: site, edge: edge, limits: limits)
        let committedAt = Timestamp.now() - Millis.seconds(Int64(age))
        var factory = EventFactory(site: site, edge: edge, seed: seed, start: committedAt - Millis.seconds(Int64(age)))
        let start = ContinuousClock.now
        var done = 0
        while done < events {
            let n = min(batch, events - done)
            try store.commit(PipelineOutputs.events(factory.make(n)), keepQuarantine: 0, now: committedAt)
            done += n
        }
        let elapsed = seconds(since: start)
        let totals = store.outboxTotals
        print(String(format: "fill-outbox: %d events (%.1f MB of event JSON, %.0f bytes each) in %.1f s, %.0f ev/s",
                     totals.events, Double(totals.bytes) / 1e6, Double(totals.bytes) / Double(max(1, totals.events)),
                     elapsed, Double(events) / elapsed) + " -> \(path)")
        printResult(["events": totals.events, "bytes": totals.bytes, "seconds": elapsed, "boot_epoch": store.bootEpoch])
    }
}
