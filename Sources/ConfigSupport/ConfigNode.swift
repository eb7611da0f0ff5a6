import MillwrightCore
import Yams

/// Collects issues while a document is read, so one pass reports them all.
package final class IssueLog {
    package let file: String
    package private(set) var issues: [ConfigIssue] = []
    /// Things that work but should not be so (an inline secret): reported, never refused.
    package private(set) var warnings: [ConfigIssue] = []
    private var seen = Set<ConfigIssue>()
    /// Keys renamed so that Yams accepts a repeated key: marker -> the key's real first character.
    package var renamedKeys: [Unicode.Scalar: Unicode.Scalar] = [:]

    package init(file: String) { self.file = file }

    package func add(_ mark: Mark?, _ path: String, _ message: String) {
        let issue = ConfigIssue(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1, path: path, message: message)
        // A template used by many sensors reports its own mistakes once.
        if seen.insert(issue).inserted { issues.append(issue) }
    }

    package func warn(_ mark: Mark?, _ path: String, _ message: String) {
        let warning = ConfigIssue(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1, path: path, message: message)
        if !warnings.contains(warning) { warnings.append(warning) }
    }

    /// A key as written in the file (undoing the renaming that let a repeated key through Yams).
    package func realKey(_ key: String) -> String {
        guard let first = key.unicodeScalars.first, let original = renamedKeys[first] else { return key }
        var view = String.UnicodeScalarView()
        view.append(original)
        view.append(contentsOf: key.unicodeScalars.dropFirst())
        return String(view)
    }
}

/// A YAML node with its path in the document, and typed readers that log issues instead of throwing.
package struct ConfigNode {
    package let node: Node
    package let path: String
    package let log: IssueLog

    package init(node: Node, path: String, log: IssueLog) {
        self.node = node
        self.path = path
        self.log = log
    }

    package var mark: Mark? { node.mark }

    package func issue(_ message: String) { log.add(mark, path, message) }

    /// A located warning: the file is used, and `check-config` and the start-up log say this.
    package func warn(_ message: String) { log.warn(mark, path, message) }

    /// What a secret written into the file costs, and the key that takes it from a file instead.
    package static func inlineSecretWarning(_ fileForm: String) -> String {
        "a secret written in the configuration file: whoever reads the file (a backup, a support bundle, version control) has it; put it in a file of its own, readable by the service only, with `\(fileForm)`"
    }

    package func child(_ key: String, _ node: Node) -> ConfigNode {
        ConfigNode(node: node, path: path.isEmpty ? key : "\(path).\(key)", log: log)
    }

    /// The mapping's entries in document order; logs duplicate keys and keys not in `allowed`.
    package func entries(allowed: [String]? = nil) -> [(key: String, value: ConfigNode)]? {
        guard case .mapping(let m) = node else {
            issue("expected a mapping (key: value lines), got \(kindName)")
            return nil
        }
        var out: [(String, ConfigNode)] = []
        var seen = Set<String>()
        for (k, v) in m {
            guard case .scalar(let ks) = k else {
                log.add(k.mark, path, "keys must be plain text")
                continue
            }
            let key = log.realKey(ks.string)
            if !seen.insert(key).inserted {
                log.add(k.mark, path, "key \"\(key)\" appears twice; keep one")
                continue
            }
            if let allowed, !allowed.contains(key) {
                log.add(k.mark, path, "unknown key \"\(key)\"\(Suggest.hint(key, allowed)); allowed here: \(allowed.joined(separator: ", "))")
                continue
            }
            out.append((key, child(key, v)))
        }
        return out
    }

    /// A mapping as a dictionary (after `entries` checks).
    package func fields(allowed: [String], required: [String] = []) -> [String: ConfigNode]? {
        guard let list = entries(allowed: allowed) else { return nil }
        let dict = Dictionary(list.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
        for r in required where dict[r] == nil {
            issue("missing required key \"\(r)\"")
        }
        return dict
    }

    package func items() -> [ConfigNode]? {
        guard case .sequence(let s) = node else {
            issue("expected a list (lines starting with \"- \"), got \(kindName)")
            return nil
        }
        return s.enumerated().map { ConfigNode(node: $1, path: "\(path)[\($0)]", log: log) }
    }

    package var scalarText: String? {
        if case .scalar(let s) = node { return s.string }
        return nil
    }

    package var isNull: Bool {
        if case .scalar(let s) = node { return s.style == .plain && ["~", "null", "Null", "NULL", ""].contains(s.string) }
        return false
    }

    package var kindName: String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case .scalar(let s): return "\"\(s.string)\""
        }
    }

    package func string(nonEmpty: Bool = true) -> String? {
        guard let s = scalarText, !isNull else {
            issue("expected text, got \(isNull ? "nothing" : kindName)")
            return nil
        }
        if nonEmpty && s.isEmpty {
            issue("must not be empty")
            return nil
        }
        return s
    }

    package func double(min: Double? = nil, exclusiveMin: Bool = false) -> Double? {
        guard let s = scalarText, let d = Double(s), d.isFinite else {
            issue("expected a number, got \(kindName)")
            return nil
        }
        if let m = min, exclusiveMin ? d <= m : d < m {
            issue("must be \(exclusiveMin ? "greater than" : "at least") \(Value.number(m)), got \(s)")
            return nil
        }
        return d
    }

    /// "5%" or "0.5 %": a percentage from 0 to 100, returned as a fraction (0.05).
    package func percent() -> Double? {
        guard let s = scalarText?.trimmingCharacters(in: .whitespaces), s.hasSuffix("%"),
              let d = Double(s.dropLast().trimmingCharacters(in: .whitespaces)), d.isFinite else {
            issue("expected a percentage like 5%, got \(kindName)")
            return nil
        }
        guard (0...100).contains(d) else {
            issue("must be between 0% and 100%, got \(s)")
            return nil
        }
        return d / 100
    }

    package func int(in range: ClosedRange<Int>) -> Int? {
        guard let s = scalarText, let i = Int(s) else {
            issue("expected a whole number, got \(kindName)")
            return nil
        }
        guard range.contains(i) else {
            issue("must be between \(range.lowerBound) and \(range.upperBound), got \(i)")
            return nil
        }
        return i
    }

    package func bool() -> Bool? {
        switch scalarText?.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            issue("expected true or false, got \(kindName)")
            return nil
        }
    }

    /// "500ms", "5s", "2m", "1h", "1d", or a bare number of seconds.
    package func duration(positive: Bool = false) -> Millis? {
        guard let s = scalarText, let d = Millis(parsing: s) else {
            issue("expected a duration like 500ms, 5s, 2m, 1h or 1d, got \(kindName)")
            return nil
        }
        if positive && d.value <= 0 {
            issue("must be longer than 0, got \(s)")
            return nil
        }
        return d
    }

    package func oneOf(_ allowed: [String]) -> String? {
        guard let s = scalarText else {
            issue("expected one of \(allowed.joined(separator: ", ")), got \(kindName)")
            return nil
        }
        guard allowed.contains(s) else {
            issue("\"\(s)\" is not allowed\(Suggest.hint(s, allowed)); use one of \(allowed.joined(separator: ", "))")
            return nil
        }
        return s
    }
}

/// "Did you mean" hints for misspelt keys and values.
package enum Suggest {
    package static func hint(_ word: String, _ candidates: [String]) -> String {
        let best = candidates.map { ($0, distance(word.lowercased(), $0.lowercased())) }.min { $0.1 < $1.1 }
        guard let (c, d) = best, d <= max(2, word.count / 3) else { return "" }
        return " (did you mean \"\(c)\"?)"
    }

    package static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var prev = Array(0...b.count)
        for i in 1...a.count {
            var cur = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                cur[j] = Swift.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            prev = cur
        }
        return prev[b.count]
    }
}
