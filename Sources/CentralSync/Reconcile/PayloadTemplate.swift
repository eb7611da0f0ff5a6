import Foundation

/// Renders `{{field}}` (in bodies) and `{field}` (in topics and URLs) from a posting's payload, so a
/// target's format is configuration, not code. Unknown fields render empty; bodies escape as JSON.
public enum PayloadTemplate {
    public static func fields(_ payload: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(payload.utf8))) as? [String: Any] ?? [:]
    }

    static func text(_ v: Any?) -> String {
        switch v {
        case let s as String: return s
        case let n as NSNumber: return n.stringValue
        case nil, is NSNull: return ""
        default:
            let data = (try? JSONSerialization.data(withJSONObject: v!, options: [.sortedKeys, .fragmentsAllowed])) ?? Data()
            return String(decoding: data, as: UTF8.self)
        }
    }

    /// `{{field}}` inside a JSON template: strings are inserted escaped (without quotes; write the quotes
    /// in the template), numbers as they are.
    public static func renderBody(_ template: String, payload: String) -> String {
        let f = fields(payload)
        return replace(template, open: "{{", close: "}}") { name in
            let s = text(f[name])
            let data = (try? JSONSerialization.data(withJSONObject: [s], options: [])) ?? Data()
            let quoted = String(decoding: data, as: UTF8.self)  // ["..."]
            return String(quoted.dropFirst(2).dropLast(2))
        }
    }

    /// `{field}` in a topic or URL: path-safe (no '/', '+', '#').
    public static func renderPath(_ template: String, payload: String) -> String {
        let f = fields(payload)
        return replace(template, open: "{", close: "}") { name in
            text(f[name]).map { "/+#".contains($0) ? "_" : $0 }.reduce(into: "") { $0.append($1) }
        }
    }

    static func replace(_ s: String, open: String, close: String, _ value: (String) -> String) -> String {
        var out = ""
        var rest = Substring(s)
        while let o = rest.range(of: open) {
            out += rest[..<o.lowerBound]
            guard let c = rest[o.upperBound...].range(of: close) else {
                rest = rest[o.lowerBound...]
                break
            }
            out += value(rest[o.upperBound..<c.lowerBound].trimmingCharacters(in: .whitespaces))
            rest = rest[c.upperBound...]
        }
        return out + rest
    }
}
