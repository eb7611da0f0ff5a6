import ArgumentParser
import ConfigSupport
import EdgeAgent
import EdgeConfig
import Foundation
import MillwrightCore

struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the rules over a recording (JSON lines of topic, ts, payload) and print the events they would promote.")

    @Option(name: .shortAndLong, help: "The edge configuration file whose rules to apply; default /etc/millwright/edge.yaml or $MILLWRIGHT_EDGE_CONFIG.")
    var config: String?

    @Argument(help: "The recording: one JSON object per line with topic, ts and payload.")
    var recording: String

    @Option(help: "Output: json (one envelope per line) or text.")
    var format: EdgeAgent.EventOutput = .json

    func run() throws {
        let cfg: EdgeConfiguration
        do { cfg = try EdgeConfiguration.load(file: try edgeConfigPath(config)) } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode(2)
        }
        let result: ReplayRunner.Result
        do { result = try ReplayRunner.run(config: cfg, recording: recording) } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode(2)
        }
        switch format {
        case .json, .none:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            for e in result.events { print(String(decoding: try encoder.encode(e), as: UTF8.self)) }
        case .text:
            for e in result.events { print(e.summaryLine) }
        }
        var summary = "replay: \(result.records) records, \(result.stats.messagesProcessed) processed, "
            + "\(result.stats.messagesRejected) rejected, \(result.events.count) events promoted\n"
        for q in result.stats.quarantined { summary += "  quarantined \(q.reason.rawValue) \(q.sensor): \(q.count)\n" }
        for (line, why) in result.badLines.prefix(20) { summary += "  \(recording):\(line): \(why)\n" }
        if result.badLines.count > 20 { summary += "  ... \(result.badLines.count - 20) more bad lines\n" }
        FileHandle.standardError.write(Data(summary.utf8))
    }
}
