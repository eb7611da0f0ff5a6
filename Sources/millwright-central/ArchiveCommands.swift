import ArgumentParser
import CentralIngest
import Foundation
import Logging
import MillwrightCore

/// `millwright-central archive`: the files retention wrote before deleting events.
struct Archive: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The event archive retention writes (retention.archive): load archived days back into the store for a trace.",
        subcommands: [Load.self])

    struct Load: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Put archived events back into the store (each once), held from retention for a while.",
            discussion: """
                Each FILE is an archive file (<archive>/<site>/<yyyy-mm-dd>.jsonl.gz). Events already in the store are left \
                as they are. The loaded days of each site are held from retention for --hold (then the next run deletes them \
                again, and archives them again). Loaded events are not read again by the reconciliation or the immediate tier: \
                they are there for `trace`, `ledger` reading and SQL. Exit status: 0 loaded, 1 a file unreadable (nothing of it loaded), \
                2 no configuration.
                """)

        @Option(name: .shortAndLong, help: "The central configuration file (YAML); default /etc/millwright/central.yaml or $MILLWRIGHT_CENTRAL_CONFIG.")
        var config: String?

        @Option(help: "How long retention leaves the loaded days alone (a duration: 14d, 36h).")
        var hold: String = "14d"

        @Argument(help: "Archive files to load.")
        var files: [String]

        func run() async throws {
            guard let holdFor = Millis(parsing: hold), holdFor.value > 0 else { throw ValidationError("--hold: expected a duration like 14d or 36h, got \(hold)") }
            let cfg = try loadConfig(config)
            var logger = Logger(label: "millwright-central")
            logger.logLevel = .error
            let stores = try await OpenedStores.open(cfg, logger: logger)
            var failed = false
            let now = Timestamp.now()
            for file in files {
                let events: [EventRow]
                do { events = try EventArchive.read(file: file) } catch {
                    FileHandle.standardError.write(Data("\(error)\n".utf8))
                    failed = true
                    continue
                }
                // Hold first: a retention run between the insert and the hold would take them again.
                for (site, items) in Dictionary(grouping: events, by: \.site).sorted(by: { $0.key < $1.key }) {
                    let from = Self.dayStart(items.map(\.occurredAt).min()!)
                    let to = Self.dayStart(items.map(\.occurredAt).max()!) + .days(1)
                    try await stores.retention.addHold(RetentionHoldRange(site: site, from: from, to: to, until: now + holdFor,
                                                                          reason: "archive load \((file as NSString).lastPathComponent)"))
                }
                var inserted = 0
                for start in stride(from: 0, to: events.count, by: 5000) {
                    inserted += try await stores.retention.restore(Array(events[start..<min(start + 5000, events.count)]))
                }
                print("\(file): \(events.count) event(s), \(inserted) put back, \(events.count - inserted) already in the store; held until \((now + holdFor).rfc3339)")
            }
            await stores.close()
            if failed { throw ExitCode(1) }
        }

        static func dayStart(_ t: Timestamp) -> Timestamp {
            Timestamp(milliseconds: t.milliseconds - ((t.milliseconds % 86_400_000) + 86_400_000) % 86_400_000)
        }
    }
}
