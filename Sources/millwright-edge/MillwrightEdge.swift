import ArgumentParser
import MillwrightCore

@main
struct MillwrightEdge: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "millwright-edge",
        abstract: "Millwright edge agent: plant MQTT sensors -> threshold rules -> curated events in a local outbox.",
        version: MillwrightVersion.current,
        subcommands: [Run.self, CheckConfig.self, Replay.self, Status.self],
        defaultSubcommand: Run.self
    )
}
