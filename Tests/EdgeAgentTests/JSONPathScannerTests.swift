import MillwrightCore
import EdgeConfig
import EdgeRules
import Testing
@testable import EdgeAgent
@testable import MillwrightCore

@Suite struct JSONPathScannerTests {
    func scan(_ text: String, _ paths: [String]) throws -> [JSONScalar?] {
        let ps = paths.map { JSONPath(parsing: $0)! }
        return try Array(text.utf8).withUnsafeBytes { try JSONPathScanner.scan($0, paths: ps) }
    }

    func isMalformed(_ text: String) -> Bool {
        do { _ = try scan(text, ["v"]); return false } catch { return true }
    }

    @Test func findsScalarsAtPathsInOnePass() throws {
        let doc = #"{"a": 1, "value": 23.5, "ts": 1764000000000, "data": {"temp": -4e2, "list": [true, {"x": "hé\n"}]}}"#
        let r = try scan(doc, ["value", "ts", "data.temp", "data.list[0]", "data.list[1].x", "missing", "data"])
        #expect(r[0] == .number(23.5))
        #expect(r[1] == .number(1_764_000_000_000))
        #expect(r[2] == .number(-400))
        #expect(r[3] == .bool(true))
        #expect(r[4] == .string("hé\n"))
        #expect(r[5] == nil)
        #expect(r[6] == .container)
    }

    @Test func decodesEscapesInKeysAndValues() throws {
        let r = try scan(#"{"v\u0061l": "\u00e9\ud83d\ude00\"\\\/\t"}"#, ["val"])
        #expect(r[0] == .string("é😀\"\\/\t"))
    }

    @Test func nullAndNestedArrays() throws {
        let r = try scan(#"[[1,2],[3,[4,5]]]"#, ["[1][1][0]"])
        #expect(r[0] == .number(4))
        #expect(try scan(#"{"v": null}"#, ["v"])[0] == .null)
    }

    @Test func rejectsMalformedDocuments() {
        for bad in [#"{"v": 1"#, #"{"v": 1}}"#, #"{"v": 01}"#, #"{"v": 1.}"#, #"{"v": .5}"#, #"{"v": 1e}"#, #"{"v": NaN}"#,
                    #"{"v": Infinity}"#, #"{"v": tru}"#, #"{v: 1}"#, #"{"v" 1}"#, #"{"v": 1,}"#, #"[1,]"#, #"{"v": "a"#,
                    "{\"v\": \"a\u{01}b\"}", #"{"v": "\x"}"#, #"{"v": "\u12G4"}"#, "", "   ", #"{"v": -}"#, #"{"v": 1} x"#] {
            #expect(isMalformed(bad), "should be malformed: \(bad)")
        }
    }

    @Test func limitsNestingDepth() {
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(throws: JSONScanError.tooDeep) { _ = try scan(deep, ["v"]) }
        let ok = String(repeating: "[", count: 50) + String(repeating: "]", count: 50)
        #expect(throws: Never.self) { _ = try scan(ok, ["v"]) }
    }

    @Test func hugeExponentIsInfiniteNotACrash() throws {
        #expect(try scan(#"{"v": 1e999}"#, ["v"])[0] == .number(.infinity))
    }
}

@Suite struct PayloadDecoderTests {
    func decode(_ spec: DecodeSpec, _ text: String) -> Result<DecodedReading, RuleRejection> {
        Array(text.utf8).withUnsafeBytes { PayloadDecoder(spec).decode($0) }
    }

    let json = DecodeSpec(format: .json, valuePath: JSONPath(parsing: "value")!, timePath: JSONPath(parsing: "ts")!)

    @Test func jsonWithTimestampsInEveryFormat() throws {
        #expect(try decode(json, #"{"value": 1, "ts": 1764000000123}"#).get().sensorTime?.milliseconds == 1_764_000_000_123)
        #expect(try decode(json, #"{"value": 1, "ts": 1764000000.5}"#).get().sensorTime?.milliseconds == 1_764_000_000_500)
        #expect(try decode(json, #"{"value": 1, "ts": "2025-11-24T16:00:00.250Z"}"#).get().sensorTime?.milliseconds == 1_764_000_000_250)
        #expect(try decode(json, #"{"value": 1}"#).get().sensorTime == nil)
        #expect(try decode(json, #"{"value": "RUN"}"#).get().value == .text("RUN"))
    }

    @Test func everyBadInputHasItsReason() {
        func reason(_ spec: DecodeSpec, _ text: String) -> String? {
            if case .failure(let r) = decode(spec, text) { return r.reason.rawValue }
            return nil
        }
        #expect(reason(json, #"{"value": 1"#) == "malformed_payload")
        #expect(reason(json, #"{"other": 1}"#) == "missing_field")
        #expect(reason(json, #"{"value": null}"#) == "missing_field")
        #expect(reason(json, #"{"value": {"a": 1}}"#) == "wrong_type")
        #expect(reason(json, #"{"value": 1e999}"#) == "non_finite")
        #expect(reason(json, #"{"value": 1, "ts": "yesterday"}"#) == "bad_timestamp")
        #expect(reason(json, #"{"value": 1, "ts": true}"#) == "bad_timestamp")
        let number = DecodeSpec(format: .number)
        #expect(reason(number, "abc") == "wrong_type")
        #expect(reason(number, "nan") == "non_finite")
        #expect(reason(number, "inf") == "non_finite")
        #expect(reason(number, " 42.5\n") == nil)
        #expect(reason(DecodeSpec(format: .boolean), "maybe") == "wrong_type")
        #expect(reason(DecodeSpec(format: .text), "  ") == "missing_field")
    }

    @Test func plainFormats() throws {
        #expect(try decode(DecodeSpec(format: .number), "-3.25").get().value == .number(-3.25))
        #expect(try decode(DecodeSpec(format: .boolean), "ON").get().value == .bool(true))
        #expect(try decode(DecodeSpec(format: .boolean), "0").get().value == .bool(false))
        #expect(try decode(DecodeSpec(format: .text), " RUNNING ").get().value == .text("RUNNING"))
    }
}
