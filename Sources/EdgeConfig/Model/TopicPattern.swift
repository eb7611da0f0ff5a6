/// A sensor topic pattern: MQTT levels where `{name}` matches one level and captures it,
/// `+` matches one level, and a final `#` matches the rest.
///
/// "acme/{line}/{equipment}/temp" subscribes to "acme/+/+/temp" and turns
/// "acme/l1/press-7/temp" into line=l1, equipment=press-7.
public struct TopicPattern: Sendable, Hashable, CustomStringConvertible {
    public enum Level: Sendable, Hashable {
        case literal(String)
        case capture(String)
        case any
        case rest
    }

    public let text: String
    public let levels: [Level]

    public var description: String { text }

    /// Parses a pattern; the error says what is wrong.
    public init(_ text: String) throws(PatternError) {
        guard !text.isEmpty else { throw PatternError("a topic pattern cannot be empty") }
        var levels: [Level] = []
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        var names = Set<String>()
        for (i, part) in parts.enumerated() {
            if part == "#" {
                guard i == parts.count - 1 else { throw PatternError("\"#\" may only be the last level") }
                levels.append(.rest)
            } else if part == "+" {
                levels.append(.any)
            } else if part.hasPrefix("{") && part.hasSuffix("}") && part.count > 2 {
                let name = String(part.dropFirst().dropLast())
                guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                    throw PatternError("capture name \"\(name)\" may hold only letters, digits and _")
                }
                guard names.insert(name).inserted else { throw PatternError("capture {\(name)} appears twice") }
                levels.append(.capture(name))
            } else {
                if part.contains("+") || part.contains("#") || part.contains("{") || part.contains("}") {
                    throw PatternError("level \"\(part)\" mixes text with a wildcard; a wildcard must be a whole level (+, # or {name})")
                }
                levels.append(.literal(String(part)))
            }
        }
        self.text = text
        self.levels = levels
    }

    /// The MQTT subscription filter for this pattern.
    public var subscriptionFilter: String {
        levels.map { level -> String in
            switch level {
            case .literal(let s): return s
            case .capture, .any: return "+"
            case .rest: return "#"
            }
        }.joined(separator: "/")
    }

    public var captureNames: [String] {
        levels.compactMap { if case .capture(let n) = $0 { return n } else { return nil } }
    }

    /// The captures if the topic matches, else nil.
    public func match(_ topic: String) -> [String: String]? {
        var captures: [String: String] = [:]
        var parts = topic.split(separator: "/", omittingEmptySubsequences: false)[...]
        for level in levels {
            switch level {
            case .rest:
                return captures
            case .literal(let s):
                guard let p = parts.popFirst(), p == s else { return nil }
            case .any:
                guard parts.popFirst() != nil else { return nil }
            case .capture(let name):
                guard let p = parts.popFirst(), !p.isEmpty else { return nil }
                captures[name] = String(p)
            }
        }
        return parts.isEmpty ? captures : nil
    }
}

public struct PatternError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ d: String) { description = d }
}

/// Text with `{capture}` placeholders, such as "{line}-{machine}", filled from topic captures.
public struct CaptureTemplate: Sendable, Hashable {
    public let text: String

    public init(_ text: String) { self.text = text }

    public var placeholders: [String] {
        var out: [String] = []
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            out.append(String(rest[rest.index(after: open)..<close]))
            rest = rest[rest.index(after: close)...]
        }
        return out
    }

    /// Fills each `{name}` in one pass, so a captured value that itself looks like "{other}" stays as it is
    /// (replacing capture by capture made the result depend on dictionary order).
    public func render(_ captures: [String: String]) -> String {
        guard text.contains("{") else { return text }
        var out = ""
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            out += rest[..<open]
            out += captures[String(rest[rest.index(after: open)..<close])] ?? String(rest[open...close])
            rest = rest[rest.index(after: close)...]
        }
        return out + rest
    }
}
