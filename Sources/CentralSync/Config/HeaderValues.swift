import ConfigSupport
import Foundation

/// Reads an HTTP target's `headers`: each value is text, `{ file: path }` (the file's content,
/// surrounding whitespace trimmed) or `{ env: NAME }` (an environment variable of the central).
///
/// Why not only text: a bearer token written into the configuration travels with every copy of
/// the file; from a file (a Kubernetes secret, a 0600 file) or the environment it does not. A
/// header that looks like it carries a secret and is written inline gets a warning.
enum HeaderValues {
    static let secretLooking = ["authorization", "token", "key", "secret", "password", "cookie", "signature"]

    static func read(_ node: ConfigNode?, document doc: YAMLDocument,
                     environment: [String: String] = ProcessInfo.processInfo.environment) -> [String: String] {
        var headers: [String: String] = [:]
        for (name, value) in node?.entries() ?? [] {
            if case .scalar = value.node, !value.isNull, let text = value.string(nonEmpty: false) {
                headers[name] = text
                if secretLooking.contains(where: { name.lowercased().contains($0) }) {
                    value.warn(ConfigNode.inlineSecretWarning("\(name): { file: /etc/millwright/\(name.lowercased()) }") + " or `{ env: NAME }`")
                }
                continue
            }
            guard let f = value.fields(allowed: ["file", "env"]) else { continue }
            switch (f["file"], f["env"]) {
            case (let file?, nil):
                guard let path = file.string() else { continue }
                do {
                    headers[name] = try String(contentsOfFile: doc.resolve(path), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
                } catch {
                    file.issue("cannot read \(doc.resolve(path)): \(error.localizedDescription)")
                }
            case (nil, let env?):
                guard let variable = env.string() else { continue }
                if let v = environment[variable], !v.isEmpty {
                    headers[name] = v
                } else {
                    env.issue("the environment variable \(variable) is not set (or empty) for this process")
                }
            default:
                value.issue("give the header's value as text, { file: path } or { env: NAME }")
            }
        }
        return headers
    }
}
