import ArgumentParser
import EdgeAgent
import EdgeConfig
import Foundation
import MillwrightCore

/// Outbox commit rate, synchronous=FULL against NORMAL, in alternating rounds.
struct OutboxCommit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outbox-commit",
        abstract: "Commit N pre-built events in groups of B to a fresh edge outbox, FULL vs NORMAL, alternating.",
        discussion: """
            Each measurement opens a new EdgeStore in a temporary directory and commits the same pre-built \
            events with store.commit (one transaction per group, as the EventWriter does). Only the commits \
            are timed: building the envelopes and opening the store are not.
            """)

    @Option(help: "Events per measurement.")
    var events = 100_000

    @Option(help: "Events per commit (group size); 1 means one transaction, and one fsync under FULL, per event.")
    var batch = 100

    @Option(help: "Rounds; each measures FULL and NORMAL, in alternating order.")
    var rounds = 3

    @Option(help: "Where the temporary outboxes go (default: the system temporary directory). Use the gateway's data disk.")
    var dir: String?

    enum Mode: String, ExpressibleByArgument, CaseIterable {
        case both, full, normal
    }

    @Option(help: "Measure both (alternating), or only one setting (for an fsync count under strace).")
    var mode: Mode = .both

    func validate() throws {
        guard events > 0, batch > 0, rounds > 0 else { throw ValidationError("--events, --batch and --rounds must be positive") }
    }

    func run() throws {
        var factory = EventFactory(site: "bench", edge: "bench-gw", seed: 42, start: .now() - Millis.seconds(600))
        let all = factory.make(events)
        let groups = stride(from: 0, to: all.count, by: batch).map { PipelineOutputs.events(Array(all[$0..<min($0 + batch, all.count)])) }
        if mode != .both {
            for round in 1...rounds {
                let r = try measure(groups, full: mode == .full)
                print("round \(round): \(mode.rawValue) " + String(format: "%.0f ev/s", r))
            }
            return
        }
        print("outbox-commit: \(events) events in \(groups.count) commits of \(batch), \(rounds) rounds, FULL and NORMAL alternating")
        print(columns([("round", 5), ("FULL ev/s", 14), ("NORMAL ev/s", 14), ("ratio", 6), ("FULL us/commit", 15), ("NORMAL us/commit", 17)]))
        var full: [Double] = [], normal: [Double] = []
        for round in 1...rounds {
            var rate: [Bool: Double] = [:]
            for isFull in round % 2 == 1 ? [true, false] : [false, true] {
                rate[isFull] = try measure(groups, full: isFull)
            }
            let f = rate[true]!, n = rate[false]!
            full.append(f)
            normal.append(n)
            print(String(format: "%5d %14.0f %14.0f %6.2f %15.1f %17.1f", round, f, n, f / n,
                         1e6 * Double(batch) / f, 1e6 * Double(batch) / n))
        }
        let mf = median(full), mn = median(normal)
        print(String(format: "median: FULL %.0f ev/s, NORMAL %.0f ev/s, ratio %.2f", mf, mn, mf / mn))
        printResult(["events": events, "batch": batch, "full": full, "normal": normal,
                     "median_full": mf, "median_normal": mn, "ratio": mf / mn])
    }

    /// Events per second committing `groups` into a new outbox.
    func measure(_ groups: [PipelineOutput], full: Bool) throws -> Double {
        let dir = try makeTemporaryDirectory(prefix: "millwright-outbox-commit", parent: self.dir)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // The store is closed (released) before its directory goes.
        return try {
            var limits = OutboxConfig()
            limits.synchronousFull = full
            let store = try EdgeStore(path: (dir as NSString).appendingPathComponent("edge.sqlite"), site: "bench", edge: "bench-gw",
                                      limits: limits)
            let start = ContinuousClock.now
            for g in groups { try store.commit(g, keepQuarantine: 0) }
            let elapsed = seconds(since: start)
            let stored = try store.eventCount()
            guard stored == events else { throw ValidationError("the outbox holds \(stored) events, expected \(events)") }
            return Double(events) / elapsed
        }()
    }
}
