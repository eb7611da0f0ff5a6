import MillwrightCore

/// What an event's `values` must hold: an object of numbers, text and booleans (no null, no
/// nesting), finite numbers, and the keys later stages read for its type, each range-checked.
///
/// Checked at ingest so a stored event is always one reconcile and planning can use: a refusal
/// with a reason beats a row that a later pass would have to skip.
enum EventValueSchema {
    /// At most this many entries; an edge's events carry fewer than 20.
    static let maxEntries = 256
    /// Quantities beyond this are not counts of real parts (and would lose precision as doubles).
    static let maxQuantity: Double = 1e12

    /// A required number and its allowed range.
    struct Need {
        let key: String
        let range: ClosedRange<Double>
        let integral: Bool
    }

    static func needs(_ type: EventType) -> [Need] {
        switch type {
        case .count: return [Need(key: "delta", range: 0...maxQuantity, integral: false)]
        case .downtime: return [Need(key: "duration_s", range: 0...1e10, integral: false)]
        case .gap: return [Need(key: "count", range: 0...maxQuantity, integral: true)]
        default: return []
        }
    }

    /// Keys that, when present, must be RFC 3339 times (reconcile reads them).
    static let timeKeys: Set<String> = ["from", "to"]

    /// Returns the dropped count for a gap record (0 otherwise), or why the values are refused.
    static func check(type: EventType, members: [(key: String, value: JSONScalar)]?) -> Result<Int, BatchDecoder.Invalid> {
        guard let members else {
            return .failure(.init(.invalidValues, "values must be an object of numbers, text and booleans"))
        }
        guard members.count <= maxEntries else {
            return .failure(.init(.invalidValues, "values has \(members.count) entries; at most \(maxEntries)"))
        }
        var byKey: [String: JSONScalar] = [:]
        for (key, value) in members {
            switch value {
            case .null:
                return .failure(.init(.invalidValues, "values.\(key.prefix(60)) is null; a value is a number, text or true/false"))
            case .container:
                return .failure(.init(.invalidValues, "values.\(key.prefix(60)) is an object or list; a value is a number, text or true/false"))
            case .number(let d) where !d.isFinite:
                return .failure(.init(.outOfRange, "values.\(key.prefix(60)) is beyond the range of a double"))
            case .string(let s) where timeKeys.contains(key):
                guard Timestamp(rfc3339: s) != nil else {
                    return .failure(.init(.invalidValues, "values.\(key) \"\(s.prefix(40))\" is not an RFC 3339 time"))
                }
            case .number, .string, .bool:
                break
            }
            guard byKey.updateValue(value, forKey: key) == nil else {
                return .failure(.init(.invalidValues, "values.\(key.prefix(60)) appears twice"))
            }
        }
        if members.isEmpty, !needs(type).isEmpty {
            return .failure(.init(.invalidValues, "values is empty; a \(type.rawValue) event needs \(needs(type).map(\.key).joined(separator: ", "))"))
        }
        var dropped = 0
        for need in needs(type) {
            guard case .number(let d)? = byKey[need.key] else {
                return .failure(.init(.invalidValues, "a \(type.rawValue) event needs values.\(need.key) as a number"))
            }
            guard need.range.contains(d), !need.integral || d.rounded() == d else {
                return .failure(.init(.outOfRange, "values.\(need.key) \(d) is outside \(need.range.lowerBound)...\(need.range.upperBound)\(need.integral ? " or not whole" : "")"))
            }
            if type == .gap { dropped = Int(d) }
        }
        return .success(dropped)
    }
}
