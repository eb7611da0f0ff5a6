import ArgumentParser
import EdgeConfig
import Foundation

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a configuration file: every error with file, line, column, what is wrong and what is allowed.")

    @Argument(help: "The edge configuration file (YAML).")
    var file: String

    func run() throws {
        do {
            let c = try EdgeConfiguration.load(file: file)
            let overrides = c.sensors.reduce(0) { $0 + $1.overrides.count }
            print("\(file): OK — site \(c.site), edge \(c.edge), \(c.brokers.count) broker(s), \(c.sensors.count) sensor group(s), "
                  + "\(c.sensors.reduce(0) { $0 + $1.rules.count }) rule(s), \(overrides) equipment override(s); config_version \(c.version)")
            // Usable, but worth fixing (an inline secret): on stdout with the OK, exit 0.
            for w in c.warnings { print("warning: \(w)") }
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
