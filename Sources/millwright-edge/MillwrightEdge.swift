import ArgumentParser
import ConfigSupport
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

/// The configuration file a command reads: `--config`, else /etc/millwright/edge.yaml (or
/// $MILLWRIGHT_EDGE_CONFIG) when it exists; otherwise an error saying where it looked (the
/// commands print it and exit 2).
func edgeConfigPath(_ explicit: String?) throws -> String {
    try ConfigLocation.edge.resolve(explicit)
}
