import EdgeConfig
import EdgeRules
import MillwrightCore

/// A decoded payload: the value and the sensor's own timestamp if it sent one.
struct DecodedReading {
    var value: Value
    var sensorTime: Timestamp?
}

/// Decodes one sensor's payloads according to its `DecodeSpec`. Never throws past a `RuleRejection`.
struct PayloadDecoder: Sendable {
    let spec: DecodeSpec
    private let paths: [JSONPath]

    init(_ spec: DecodeSpec) {
        self.spec = spec
        paths = [spec.valuePath] + (spec.timePath.map { [$0] } ?? [])
    }

    func decode(_ payload: UnsafeRawBufferPointer) -> Result<DecodedReading, RuleRejection> {
        switch spec.format {
        case .json: return decodeJSON(payload)
        case .number:
            let text = Self.trimmed(payload)
            guard let d = Double(text) else {
                return .failure(RuleRejection(.wrongType, "expected a plain number, got \"\(text.prefix(40))\""))
            }
            guard d.isFinite else { return .failure(RuleRejection(.nonFinite, "\(text) is not a finite number")) }
            return .success(DecodedReading(value: .number(d)))
        case .boolean:
            switch Self.trimmed(payload).lowercased() {
            case "true", "1", "on": return .success(DecodedReading(value: .bool(true)))
            case "false", "0", "off": return .success(DecodedReading(value: .bool(false)))
            case let t: return .failure(RuleRejection(.wrongType, "expected true/false, 1/0 or on/off, got \"\(t.prefix(40))\""))
            }
        case .text:
            let t = Self.trimmed(payload)
            guard !t.isEmpty else { return .failure(RuleRejection(.missingField, "the payload is empty")) }
            return .success(DecodedReading(value: .text(t)))
        }
    }

    private func decodeJSON(_ payload: UnsafeRawBufferPointer) -> Result<DecodedReading, RuleRejection> {
        let found: [JSONScalar?]
        do {
            found = try JSONPathScanner.scan(payload, paths: paths)
        } catch {
            switch error {
            case .tooDeep:
                return .failure(RuleRejection(.malformedPayload, "JSON nested deeper than \(JSONPathScanner.maxDepth) levels"))
            case .malformed(let why):
                return .failure(RuleRejection(.malformedPayload, "not valid JSON: \(why)"))
            }
        }
        let value: Value
        switch found[0] {
        case nil, .null?:
            return .failure(RuleRejection(.missingField, "no value at \(spec.valuePath)"))
        case .number(let d)?:
            guard d.isFinite else { return .failure(RuleRejection(.nonFinite, "the value at \(spec.valuePath) is not finite")) }
            value = .number(d)
        case .bool(let b)?: value = .bool(b)
        case .string(let s)?: value = .text(s)
        case .container?:
            return .failure(RuleRejection(.wrongType, "\(spec.valuePath) is an object or array, not a value"))
        }
        var reading = DecodedReading(value: value)
        if let timePath = spec.timePath {
            switch found[1] {
            case nil, .null?:
                break  // No timestamp in this message: receive time is used and noted.
            case let scalar?:
                switch Self.timestamp(scalar, format: spec.timeFormat) {
                case .success(let t): reading.sensorTime = t
                case .failure(let why): return .failure(RuleRejection(.badTimestamp, "\(timePath): \(why)"))
                }
            }
        }
        return .success(reading)
    }

    static func timestamp(_ scalar: JSONScalar, format: DecodeSpec.TimeFormat) -> Result<Timestamp, TimeParseFailure> {
        func milliseconds(_ d: Double) -> Result<Timestamp, TimeParseFailure> {
            guard d.isFinite, abs(d) < 1e15 else { return .failure(TimeParseFailure("\(d) is out of range")) }
            return .success(Timestamp(milliseconds: Int64(d.rounded())))
        }
        switch (scalar, format) {
        case (.number(let d), .unixMs):
            return milliseconds(d)
        case (.number(let d), .auto) where abs(d) >= 1e11:
            return milliseconds(d)
        case (.number(let d), .unixS), (.number(let d), .auto):
            guard d.isFinite, abs(d) < 1e12 else { return .failure(TimeParseFailure("\(d) is out of range")) }
            return .success(Timestamp(milliseconds: Int64((d * 1000).rounded())))
        case (.string(let s), .rfc3339), (.string(let s), .auto):
            guard let t = Timestamp(rfc3339: s) else {
                return .failure(TimeParseFailure("\"\(s.prefix(40))\" is not an RFC 3339 time like 2026-11-24T10:00:00Z"))
            }
            return .success(t)
        default:
            return .failure(TimeParseFailure("expected a \(format == .rfc3339 ? "RFC 3339 text" : "number") timestamp"))
        }
    }

    struct TimeParseFailure: Error, CustomStringConvertible {
        let description: String
        init(_ d: String) { description = d }
    }

    static func trimmed(_ payload: UnsafeRawBufferPointer) -> String {
        var lo = 0, hi = payload.count
        while lo < hi, [0x20, 0x09, 0x0A, 0x0D].contains(payload[lo]) { lo += 1 }
        while hi > lo, [0x20, 0x09, 0x0A, 0x0D].contains(payload[hi - 1]) { hi -= 1 }
        return String(decoding: UnsafeRawBufferPointer(rebasing: payload[lo..<hi]), as: UTF8.self)
    }
}
