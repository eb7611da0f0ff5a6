/// One problem in a configuration file, located precisely enough to fix it without searching.
public struct ConfigIssue: Sendable, Hashable, CustomStringConvertible, Comparable {
    public init(file: String, line: Int, column: Int, path: String, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.path = path
        self.message = message
    }

    public var file: String
    public var line: Int
    public var column: Int
    /// Where in the document: "sensors[2].rules.limit.high".
    public var path: String
    /// What is wrong and what would be right.
    public var message: String

    public var description: String {
        "\(file):\(line):\(column): \(path.isEmpty ? "" : "\(path): ")\(message)"
    }

    public static func < (a: ConfigIssue, b: ConfigIssue) -> Bool {
        (a.file, a.line, a.column, a.message) < (b.file, b.line, b.column, b.message)
    }
}

/// A configuration that cannot be used, with every issue found (not just the first).
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public var issues: [ConfigIssue]

    public init(issues: [ConfigIssue]) { self.issues = issues }

    /// A single issue at the top of a file.
    public init(file: String, _ message: String) {
        issues = [ConfigIssue(file: file, line: 1, column: 1, path: "", message: message)]
    }

    public var description: String {
        let n = issues.count
        return issues.map(\.description).joined(separator: "\n")
            + "\n\(n) error\(n == 1 ? "" : "s") in the configuration; nothing was changed."
    }
}
