/// What `status` found wrong, with the exit code a monitor or a script acts on. Both binaries use
/// the same codes (docs/OPERATIONS.md, "Status exit codes"); when several hold, the exit code is
/// the first in this order: not running, stale, unhealthy. 0 is healthy, 1 an error reading the
/// status, 2 a configuration that cannot be found or read.
public enum StatusCondition: Int32, Sendable, Codable, CaseIterable, Comparable {
    /// The process is not there: no status file, its pid gone, or no replica online.
    case notRunning = 3
    /// The process is there but what it reports is too old to trust.
    case stale = 4
    /// Running and fresh, but something it needs is broken (a broker connection, a target).
    case unhealthy = 5

    public var label: String {
        switch self {
        case .notRunning: "NOT RUNNING"
        case .stale: "STALE"
        case .unhealthy: "UNHEALTHY"
        }
    }

    public var key: String {
        switch self {
        case .notRunning: "not_running"
        case .stale: "stale"
        case .unhealthy: "unhealthy"
        }
    }

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }

    /// In JSON by its key ("stale"); the code is beside it in a finding.
    public init(from decoder: any Decoder) throws {
        let key = try decoder.singleValueContainer().decode(String.self)
        guard let c = Self.allCases.first(where: { $0.key == key }) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown status condition \(key)"))
        }
        self = c
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(key)
    }
}

/// One finding of `status`: the condition and, in words, why.
public struct StatusFinding: Sendable, Codable, Hashable {
    public var condition: StatusCondition
    public var detail: String

    public init(_ condition: StatusCondition, _ detail: String) {
        self.condition = condition
        self.detail = detail
    }

    enum CodingKeys: String, CodingKey { case condition, code, detail }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        condition = try c.decode(StatusCondition.self, forKey: .condition)
        detail = try c.decode(String.self, forKey: .detail)
    }

    /// `{"condition": "stale", "code": 4, "detail": "..."}`
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(condition, forKey: .condition)
        try c.encode(condition.rawValue, forKey: .code)
        try c.encode(detail, forKey: .detail)
    }

    /// The exit code for a set of findings: 0 when there are none.
    public static func exitCode(_ findings: [StatusFinding]) -> Int32 {
        findings.map(\.condition).min()?.rawValue ?? 0
    }

    /// "health: OK" or "health: STALE: ...; UNHEALTHY: ...", for the text output.
    public static func line(_ findings: [StatusFinding]) -> String {
        guard !findings.isEmpty else { return "health: OK" }
        return "health: " + findings.sorted { $0.condition < $1.condition }.map { "\($0.condition.label): \($0.detail)" }.joined(separator: "; ")
    }
}
