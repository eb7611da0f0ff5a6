import Foundation

/// Where a command's configuration file is: the `--config` given, else the documented default path
/// (overridable through an environment variable, for containers and tests) when a file is there.
/// Never an embedded default: an operator who mistyped a path, or ran a command on the wrong
/// machine, gets an error that says where it looked, not a confident answer about an empty store.
public struct ConfigLocation: Sendable {
    /// The program, for the message ("millwright-central").
    public let program: String
    /// The documented default, e.g. /etc/millwright/central.yaml.
    public let defaultPath: String
    /// The environment variable that replaces `defaultPath`, e.g. MILLWRIGHT_CENTRAL_CONFIG.
    public let variable: String

    public init(program: String, defaultPath: String, variable: String) {
        self.program = program
        self.defaultPath = defaultPath
        self.variable = variable
    }

    public static let central = ConfigLocation(program: "millwright-central", defaultPath: "/etc/millwright/central.yaml",
                                               variable: "MILLWRIGHT_CENTRAL_CONFIG")
    public static let edge = ConfigLocation(program: "millwright-edge", defaultPath: "/etc/millwright/edge.yaml",
                                            variable: "MILLWRIGHT_EDGE_CONFIG")

    /// The file to read, or a `NotFound` saying where it looked.
    public func resolve(_ explicit: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws(NotFound) -> String {
        if let explicit {
            guard FileManager.default.fileExists(atPath: explicit) else {
                throw NotFound(message: "\(program): no configuration file at \(explicit) (--config)")
            }
            return explicit
        }
        let fromEnvironment = environment[variable].flatMap { $0.isEmpty ? nil : $0 }
        let path = fromEnvironment ?? defaultPath
        guard FileManager.default.fileExists(atPath: path) else {
            let place = fromEnvironment != nil ? "\(path) (\(variable))" : "\(path) (the default; \(variable) names another)"
            throw NotFound(message: "\(program): no configuration: pass --config FILE; looked for \(place) and found nothing")
        }
        return path
    }

    /// Why no configuration could be read; the message names every place looked at.
    public struct NotFound: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }
}
