import ConfigSupport
import Foundation
import Testing
@testable import EdgeConfig
import EdgeRules
import MillwrightCore

/// The package root: this file's folder, then two folders up.
let packageRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent()   // Tests/EdgeConfigTests
    .deletingLastPathComponent()   // Tests
    .deletingLastPathComponent()   // package root

let demoConfigPath = packageRoot.appendingPathComponent("edge/examples/demo.yaml").path

/// Where an issue points: enough to compare a whole report at once.
struct Location: Equatable, CustomStringConvertible {
    var line: Int
    var column: Int
    var path: String

    init(_ line: Int, _ column: Int, _ path: String) {
        self.line = line
        self.column = column
        self.path = path
    }

    var description: String { "\(line):\(column) \(path)" }
}

extension ConfigIssue {
    var location: Location { Location(line, column, path) }
}

/// Parses text that must be accepted.
func parse(_ yaml: String, file: String = "edge.yaml") throws -> EdgeConfiguration {
    try EdgeConfiguration.parse(yaml: yaml, file: file)
}

/// Parses text that must be refused and returns every issue (records a test failure if it was accepted).
func issues(_ yaml: String, file: String = "edge.yaml", sourceLocation: SourceLocation = #_sourceLocation) -> [ConfigIssue] {
    do {
        _ = try EdgeConfiguration.parse(yaml: yaml, file: file)
        Issue.record("the configuration was accepted, expected issues", sourceLocation: sourceLocation)
        return []
    } catch {
        return error.issues
    }
}

/// A fresh folder under the system temp dir, with symlinks resolved so paths compare exactly.
func makeTempDir() throws -> URL {
    let base = URL(fileURLWithPath: NSTemporaryDirectory()).resolvingSymlinksInPath()
    let dir = base.appendingPathComponent("edgeconfig-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

/// Writes `text` to `name` inside `dir` and returns the file's path.
@discardableResult
func write(_ text: String, to name: String, in dir: URL) throws -> String {
    let url = dir.appendingPathComponent(name)
    try text.write(to: url, atomically: true, encoding: .utf8)
    return url.path
}

/// The broker keys, in the order the loader lists them in "allowed here".
let brokerKeyList = "host, port, protocol, client_id, clean_start, session_expiry, keepalive, username, password, password_file, tls, reconnect, receive_maximum"
/// The rule kinds, in the order the loader lists them.
let ruleKindList = "limit, rate, deadband, window, stale, counter, state"
let limitKeyList = "high, high_high, low, low_low, hysteresis, on_delay, off_delay"
