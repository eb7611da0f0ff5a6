import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A point in time as whole milliseconds since the Unix epoch (UTC).
///
/// Rules do all their arithmetic on this integer so that a replay gives
/// exactly the same events as the live run, with no floating-point drift.
public struct Timestamp: Hashable, Comparable, Sendable {
    public var milliseconds: Int64

    public init(milliseconds: Int64) { self.milliseconds = milliseconds }

    /// The wall clock now.
    public static func now() -> Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(milliseconds: Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000)
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.milliseconds < rhs.milliseconds }

    public static func + (lhs: Timestamp, rhs: Millis) -> Timestamp {
        Timestamp(milliseconds: lhs.milliseconds &+ rhs.value)
    }

    public static func - (lhs: Timestamp, rhs: Millis) -> Timestamp {
        Timestamp(milliseconds: lhs.milliseconds &- rhs.value)
    }

    /// The span from `rhs` to `lhs`.
    public static func - (lhs: Timestamp, rhs: Timestamp) -> Millis {
        Millis(lhs.milliseconds &- rhs.milliseconds)
    }

    /// Seconds since the epoch, with millisecond precision.
    public var secondsSinceEpoch: Double { Double(milliseconds) / 1000 }
}

/// A span of time in whole milliseconds; config durations ("5s", "1m") parse into this.
public struct Millis: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var value: Int64

    public init(_ value: Int64) { self.value = value }
    public static func seconds(_ s: Int64) -> Millis { Millis(s * 1000) }
    public static func hours(_ h: Int64) -> Millis { Millis(h * 3_600_000) }
    public static func days(_ d: Int64) -> Millis { Millis(d * 86_400_000) }
    public static let zero = Millis(0)

    public static func < (lhs: Millis, rhs: Millis) -> Bool { lhs.value < rhs.value }
    public var seconds: Double { Double(value) / 1000 }
    /// The same span as a standard `Duration`, for sleeps, timeouts and clocks: the one place a
    /// configured `Millis` becomes one (modules hand `Millis` across, never convert by hand).
    public var duration: Duration { .milliseconds(value) }

    public init(from decoder: Decoder) throws {
        value = try decoder.singleValueContainer().decode(Int64.self)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(value)
    }

    /// Human form used in config and messages: "500ms", "5s", "2m", "1h", "7d".
    public var description: String {
        if value % 86_400_000 == 0 && value != 0 { return "\(value / 86_400_000)d" }
        if value % 3_600_000 == 0 && value != 0 { return "\(value / 3_600_000)h" }
        if value % 60_000 == 0 && value != 0 { return "\(value / 60_000)m" }
        if value % 1000 == 0 { return "\(value / 1000)s" }
        return "\(value)ms"
    }

    /// Parses "250ms", "5s", "1.5s", "2m", "1h", "1d", or a bare number of seconds.
    public init?(parsing text: String) {
        let t = text.trimmingCharacters(in: .whitespaces)
        let units: [(String, Double)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
        var number = Substring(t)
        var scale = 1000.0
        for (suffix, factor) in units where t.hasSuffix(suffix) {
            let head = t.dropLast(suffix.count)
            // "ms" also ends in "s": take the longest unit that leaves a number.
            if Double(head) != nil { number = head; scale = factor; break }
        }
        // Int64(exactly:) refuses spans beyond Int64 (like "1e300s") instead of trapping.
        guard let n = Double(number), n.isFinite, n >= 0, let ms = Int64(exactly: (n * scale).rounded()) else { return nil }
        self.value = ms
    }
}

extension Timestamp: Codable {
    /// Encoded as RFC 3339 UTC with milliseconds: readable in logs and exact.
    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let ms = try? c.decode(Int64.self) {
            self.milliseconds = ms
            return
        }
        let text = try c.decode(String.self)
        guard let ts = Timestamp(rfc3339: text) else {
            throw DecodingError.dataCorruptedError(
                in: c, debugDescription: "expected an RFC 3339 time like 2026-11-24T10:00:00.000Z, got \(text)")
        }
        self = ts
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rfc3339)
    }
}
