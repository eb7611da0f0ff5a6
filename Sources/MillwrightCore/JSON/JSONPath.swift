/// A path into a JSON document: "value", "data.temp", "readings[0].v", optionally prefixed "$.".
public struct JSONPath: Sendable, Hashable, CustomStringConvertible {
    public enum Component: Sendable, Hashable {
        case key(String)
        case index(Int)
    }

    public var components: [Component]

    public init(components: [Component] = []) { self.components = components }

    public init?(parsing text: String) {
        var t = Substring(text)
        if t.hasPrefix("$.") { t = t.dropFirst(2) } else if t == "$" { self.components = []; return }
        var out: [Component] = []
        for part in t.split(separator: ".", omittingEmptySubsequences: false) {
            var p = part
            var indices: [Int] = []
            while p.hasSuffix("]"), let open = p.lastIndex(of: "[") {
                guard let i = Int(p[p.index(after: open)..<p.index(before: p.endIndex)]), i >= 0 else { return nil }
                indices.insert(i, at: 0)
                p = p[..<open]
            }
            // A bracket left in a key is a malformed index ("a[1.5]", "a[0]b"), not part of a name.
            if p.contains("[") || p.contains("]") { return nil }
            if !p.isEmpty { out.append(.key(String(p))) } else if indices.isEmpty { return nil }
            out += indices.map(Component.index)
        }
        guard !out.isEmpty else { return nil }
        self.components = out
    }

    public var description: String {
        var s = ""
        for c in components {
            switch c {
            case .key(let k): s += s.isEmpty ? k : ".\(k)"
            case .index(let i): s += "[\(i)]"
            }
        }
        return s.isEmpty ? "$" : s
    }
}
