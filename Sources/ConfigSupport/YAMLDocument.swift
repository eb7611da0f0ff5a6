import Foundation
import MillwrightCore
import MQTTClient
import Yams

/// A YAML configuration file read into nodes that know their line and column.
package struct YAMLDocument {
    package let file: String
    package let text: String
    package let root: ConfigNode

    /// Parses `text`; a YAML syntax error becomes a located `ConfigError`. `example` is named
    /// in the message for an empty file.
    package init(text: String, file: String, example: String) throws(ConfigError) {
        self.file = file
        self.text = text
        let log = IssueLog(file: file)
        do {
            guard let node = try Self.compose(text, log: log) else {
                throw ConfigError(file: file, "the file is empty; see \(example)")
            }
            root = ConfigNode(node: node, path: "", log: log)
        } catch let e as ConfigError {
            throw e
        } catch let e as YamlError {
            throw ConfigError(issues: [Self.yamlIssue(e, file: file)])
        } catch {
            throw ConfigError(file: file, "not valid YAML: \(error)")
        }
    }

    package static func readText(file: String) throws(ConfigError) -> String {
        do {
            return try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw ConfigError(file: file, "cannot read the file: \(error.localizedDescription)")
        }
    }

    /// Paths in the file are relative to the file's folder.
    package func resolve(_ path: String) -> String {
        guard !path.hasPrefix("/"), file != "<config>" else { return path }
        let dir = (file as NSString).deletingLastPathComponent
        guard !dir.isEmpty else { return path }
        // Without "..", so logs and status show where the data really is.
        return URL(fileURLWithPath: (dir as NSString).appendingPathComponent(path)).standardizedFileURL.path
    }

    /// A short hash of the text, reported in status so operators can tell which config runs.
    package var fingerprint: String {
        // FNV-1a: stable across runs and platforms, unlike Hasher.
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        let hex = String(h, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// Yams stops at the first mapping with a repeated key. So that a repeated key is reported with every
    /// other issue, the earlier occurrence gets its first character swapped for an unused private-use one
    /// (no column moves) and the text is composed again; `ConfigNode.entries` restores the key and
    /// reports the later occurrence where it stands.
    static func compose(_ yaml: String, log: IssueLog) throws -> Node? {
        var scalars = Array(yaml.unicodeScalars)
        let used = Set(scalars)
        var markers = (UInt32(0xE000)...0xF8FF).lazy.compactMap { Unicode.Scalar($0) }.filter { !used.contains($0) }.makeIterator()
        while true {
            do {
                var view = String.UnicodeScalarView()
                view.append(contentsOf: scalars)
                return try Yams.compose(yaml: String(view))
            } catch YamlError.duplicatedKeysInMapping(let keys, let context) {
                guard var i = scalarIndex(line: context.mark.line, column: context.mark.column, in: scalars) else {
                    throw YamlError.duplicatedKeysInMapping(duplicates: keys, context: context)
                }
                if scalars[i] == "\"" || scalars[i] == "'" { i += 1 }
                guard i < scalars.count, !"\"'\\&!*|> \t\r\n".unicodeScalars.contains(scalars[i]),
                      let marker = markers.next() else {
                    throw YamlError.duplicatedKeysInMapping(duplicates: keys, context: context)
                }
                log.renamedKeys[marker] = scalars[i]
                scalars[i] = marker
            }
        }
    }

    /// The index of the character at a 1-based line and column (libyaml counts columns in scalars).
    static func scalarIndex(line: Int, column: Int, in scalars: [Unicode.Scalar]) -> Int? {
        var l = 1, c = 1, i = 0
        while i < scalars.count {
            if l == line && c == column { return i }
            if scalars[i] == "\r" && i + 1 < scalars.count && scalars[i + 1] == "\n" { i += 1 }
            if "\n\r\u{85}\u{2028}\u{2029}".unicodeScalars.contains(scalars[i]) { l += 1; c = 1 } else { c += 1 }
            i += 1
        }
        return nil
    }

    static func yamlIssue(_ e: YamlError, file: String) -> ConfigIssue {
        switch e {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return ConfigIssue(file: file, line: mark.line, column: mark.column, path: "",
                               message: "not valid YAML: \(problem) (check indentation and quoting on this line)")
        case .duplicatedKeysInMapping(let keys, let context):
            return ConfigIssue(file: file, line: context.mark.line, column: context.mark.column, path: "",
                               message: "key \(keys.map { "\"\($0)\"" }.joined(separator: ", ")) appears more than once in this mapping; keep one")
        case .reader(let problem, let offset, let value, let yaml):
            // libyaml's reader reports a byte offset (a control character, invalid UTF-8): turn it
            // into the line and column an editor shows.
            let (line, column) = position(ofByte: offset ?? 0, in: yaml)
            let character = value >= 0 ? String(format: " U+%04X", value) : ""
            return ConfigIssue(file: file, line: line, column: column, path: "",
                               message: "not valid YAML: \(problem)\(character) (remove it or quote the value with escapes)")
        default:
            return ConfigIssue(file: file, line: 1, column: 1, path: "", message: "not valid YAML: \(e)")
        }
    }

    /// 1-based line and column (in characters) of the byte at `offset` in `text`.
    static func position(ofByte offset: Int, in text: String) -> (line: Int, column: Int) {
        let bytes = Array(text.utf8.prefix(max(0, offset)))
        let lineStart = (bytes.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 }) ?? 0
        let line = bytes.reduce(1) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
        let column = String(decoding: bytes[lineStart...], as: UTF8.self).count + 1
        return (line, column)
    }
}
