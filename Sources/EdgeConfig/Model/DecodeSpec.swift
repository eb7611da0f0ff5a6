import MillwrightCore

/// How one sensor's payload becomes a value (and maybe a timestamp).
public struct DecodeSpec: Sendable, Hashable {
    public enum Format: String, Sendable, Hashable, CaseIterable {
        /// A JSON document; `value` (and optionally `time`) are paths into it.
        case json
        /// Plain text number: "23.5".
        case number
        /// "true"/"false", "1"/"0", "on"/"off".
        case boolean
        /// A state string or code as text: "RUNNING", "E42".
        case text
    }

    public enum TimeFormat: String, Sendable, Hashable, CaseIterable {
        /// Numbers above 10^11 are milliseconds, smaller ones seconds; text is RFC 3339.
        case auto
        case unixMs = "unix_ms"
        case unixS = "unix_s"
        case rfc3339
    }

    public var format: Format
    public var valuePath: JSONPath
    public var timePath: JSONPath?
    public var timeFormat: TimeFormat

    public init(format: Format, valuePath: JSONPath = JSONPath(), timePath: JSONPath? = nil, timeFormat: TimeFormat = .auto) {
        self.format = format
        self.valuePath = valuePath
        self.timePath = timePath
        self.timeFormat = timeFormat
    }
}
