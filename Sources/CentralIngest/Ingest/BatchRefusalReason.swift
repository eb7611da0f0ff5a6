/// Why the central refused a batch as a whole: counted per reason in status, stored with the raw batch.
///
/// A typed kind rather than matching reason texts, so counts and alerts do not depend on wording.
public enum BatchRefusalReason: String, Sendable, Codable, CaseIterable, Comparable {
    /// Published on a topic that is not `millwright/v1/<site>/<edge>/events`.
    case notEventsTopic = "not_events_topic"
    /// Larger than `ingest.max_batch_bytes`.
    case tooLarge = "too_large"
    /// Not valid JSON.
    case malformedJSON = "malformed_json"
    /// Nested deeper than the scanner allows (64 levels).
    case tooDeep = "too_deep"
    /// A protocol version other than 1, or an event schema version this central does not know.
    case unsupportedVersion = "unsupported_version"
    /// `batch`, `site` or `edge` missing or not text.
    case badHeader = "bad_header"
    /// The batch names another site/edge than its topic, or an event another edge than its batch.
    case wrongEdge = "wrong_edge"
    /// No `events` list, or an empty one, or more than `BatchDecoder.maxEvents`.
    case badEventList = "bad_event_list"
    /// An event field is missing or has the wrong type.
    case invalidField = "invalid_field"
    /// A number outside what the field allows (times before 1970 or after 9999, negative counts, overflowing integers).
    case outOfRange = "out_of_range"
    /// `values` is not an object of numbers, text and booleans, or lacks what its event type needs.
    case invalidValues = "invalid_values"

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}
