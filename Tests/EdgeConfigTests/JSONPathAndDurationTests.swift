import Foundation
import Testing
@testable import EdgeConfig
import EdgeRules
import MillwrightCore

@Suite("JSON paths")
struct JSONPathTests {
    @Test(arguments: [
        ("value", [JSONPath.Component.key("value")], "value"),
        ("$.a.b", [.key("a"), .key("b")], "a.b"),
        ("a[0].b", [.key("a"), .index(0), .key("b")], "a[0].b"),
        ("a.b[2][1]", [.key("a"), .key("b"), .index(2), .index(1)], "a.b[2][1]"),
        ("readings[10].v", [.key("readings"), .index(10), .key("v")], "readings[10].v"),
        ("[0].v", [.index(0), .key("v")], "[0].v"),
        ("$.data.temp", [.key("data"), .key("temp")], "data.temp"),
    ])
    func parses(text: String, components: [JSONPath.Component], description: String) throws {
        let path = try #require(JSONPath(parsing: text))
        #expect(path.components == components)
        #expect(path.description == description)
    }

    @Test(arguments: ["a..b", "a[x]", "", ".a", "a.", "$.", "a[-1]", "a[]", "a[1.5]", "a[0x1]", "a[0]b", "a]", "a[0", "$.a[0]]"])
    func refusesInvalid(text: String) {
        #expect(JSONPath(parsing: text) == nil)
    }

    @Test func rootPath() throws {
        let root = try #require(JSONPath(parsing: "$"))
        #expect(root.components.isEmpty)
        #expect(root.description == "$")
        #expect(JSONPath().description == "$")
        #expect(root == JSONPath())
    }

    @Test func descriptionRoundTrips() throws {
        for text in ["value", "a.b", "a[0].b", "a.b[2][1]", "[3]", "x[0][0].y.z[7]"] {
            let path = try #require(JSONPath(parsing: text))
            #expect(path.description == text)
            #expect(JSONPath(parsing: path.description) == path)
        }
    }
}

@Suite("Durations")
struct DurationTests {
    @Test(arguments: [
        ("500ms", 500),
        ("5s", 5000),
        ("1.5s", 1500),
        ("2m", 120_000),
        ("1h", 3_600_000),
        ("1d", 86_400_000),
        ("30", 30_000),
        ("0", 0),
        ("0.25", 250),
        (" 5s ", 5000),
        ("1.5ms", 2),
        ("0s", 0),
    ] as [(String, Int64)])
    func parses(text: String, milliseconds: Int64) {
        #expect(Millis(parsing: text) == Millis(milliseconds))
    }

    @Test(arguments: ["5x", "-1s", "-5", "", "s", "ms", "5 s", "five", "nan", "inf", "1e300s", "1e20d", "5S"])
    func refusesInvalid(text: String) {
        #expect(Millis(parsing: text) == nil)
    }

    @Test func humanDescription() {
        #expect(Millis(500).description == "500ms")
        #expect(Millis(5000).description == "5s")
        #expect(Millis(120_000).description == "2m")
        #expect(Millis(3_600_000).description == "1h")
        #expect(Millis(86_400_000 * 7).description == "7d" && Millis(36 * 3_600_000).description == "36h")
        #expect(Millis(1500).description == "1500ms")
        #expect(Millis.zero.description == "0s")
        #expect(Millis.seconds(90).description == "90s")
    }

    @Test func hugeDurationInAConfigIsAnIssueNotACrash() {
        let found = issues("""
            site: s
            edge: e
            brokers:
              plant: { session_expiry: 99999999999999999999d }
            sensors:
              - name: a
                topic: "p/{equipment}/a"
                decode: { format: number }
                rules: { stale: { after: 1e300s } }
            """)
        #expect(found.map(\.location) == [
            Location(4, 28, "brokers.plant.session_expiry"),
            Location(9, 30, "sensors[0].rules.stale.after"),
        ])
        #expect(found.map(\.message) == [
            "expected a duration like 500ms, 5s, 2m, 1h or 1d, got \"99999999999999999999d\"",
            "expected a duration like 500ms, 5s, 2m, 1h or 1d, got \"1e300s\"",
        ])
    }
}
