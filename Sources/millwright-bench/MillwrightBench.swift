import ArgumentParser
import Foundation
import MillwrightCore

/// Benchmark drivers used by the scripts in bench/ (see docs/BENCHMARKS.md). Not shipped.
///
/// Each subcommand does one measurable thing and prints a human-readable table; the last
/// line of output is `RESULT {json}` for the bench script that called it.
@main
struct MillwrightBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "millwright-bench",
        abstract: "Benchmark drivers for the scripts in bench/ (see docs/BENCHMARKS.md).",
        subcommands: [OutboxCommit.self, FillOutbox.self, MakeBatches.self, ReconcilePassBench.self, PostgresEventWrite.self, RetentionSoak.self, PostgresUpgrade.self])
}

/// The machine-readable last line a bench script parses.
func printResult(_ fields: [String: Any]) {
    guard let data = try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys]) else { return }
    print("RESULT " + String(decoding: data, as: UTF8.self))
}

/// Seconds elapsed since `start`, as a Double.
func seconds(since start: ContinuousClock.Instant) -> Double {
    (ContinuousClock.now - start).inSeconds
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    guard !s.isEmpty else { return 0 }
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// A fresh directory under `parent` (or the system temporary directory).
func makeTemporaryDirectory(prefix: String, parent: String?) throws -> String {
    let base = parent ?? FileManager.default.temporaryDirectory.path
    let dir = (base as NSString).appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// Right-aligned column headers, separated by one space.
func columns(_ cells: [(String, Int)]) -> String {
    cells.map { String(repeating: " ", count: max(0, $0.1 - $0.0.count)) + $0.0 }.joined(separator: " ")
}
