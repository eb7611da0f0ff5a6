import ConfigSupport
import Foundation
import Testing
@testable import EdgeConfig
import EdgeRules
import MillwrightCore

@Suite("Demo configuration")
struct DemoConfigTests {
    @Test func demoLoadsWithBrokersSensorsAndRules() throws {
        let config = try EdgeConfiguration.load(file: demoConfigPath)
        #expect(config.site == "demo-plant")
        #expect(config.edge == "gw-01")

        #expect(config.brokers.map(\.name) == ["plant"])
        let plant = try #require(config.broker(named: "plant"))
        #expect(plant.options.host == "127.0.0.1")
        #expect(plant.options.port == 1883)
        #expect(plant.options.protocolVersion == .v5)
        #expect(plant.options.clientID == "millwright-demo-gw-01")
        #expect(plant.options.cleanStart == false)
        #expect(config.broker(named: "other") == nil)

        #expect(config.ingest.maxPayloadBytes == 4096)
        #expect(config.ingest.maxFutureSkew == Millis(120_000))
        #expect(config.ingest.onClockSkew == .useReceiveTime)
        #expect(config.ingest.maxPastAge == Millis.seconds(7 * 86_400))

        #expect(config.sensors.map(\.name) == ["temperature", "parts", "state"])
        #expect(config.sensors.allSatisfy { $0.broker == "plant" })
        #expect(config.version.count == 16)
    }

    @Test func demoDataDirResolvesBesideTheFile() throws {
        let config = try EdgeConfiguration.load(file: demoConfigPath)
        // "../../var/demo-edge" from edge/examples is <package root>/var/demo-edge.
        #expect(config.dataDir.hasPrefix("/"))
        #expect(config.dataDir.hasSuffix("/var/demo-edge"))
        #expect(!config.dataDir.contains(".."))
        #expect(!config.dataDir.contains("edge/examples"))
    }

    @Test func demoTemperatureSensorUsesTheTemplate() throws {
        let config = try EdgeConfiguration.load(file: demoConfigPath)
        let t = try #require(config.sensors.first { $0.name == "temperature" })
        #expect(t.topic.text == "demo/line1/{equipment}/temperature")
        #expect(t.topic.subscriptionFilter == "demo/line1/+/temperature")
        #expect(t.topic.captureNames == ["equipment"])
        #expect(t.qos == 1)
        #expect(t.equipment.text == "{equipment}")
        #expect(t.signal.text == "spindle_temp")
        #expect(t.decode == DecodeSpec(format: .json, valuePath: JSONPath(components: [.key("value")]),
                                       timePath: JSONPath(components: [.key("ts")]), timeFormat: .auto))

        let limit = LimitParams(high: 80, highHigh: 92, hysteresis: 3, onDelay: .seconds(2), offDelay: .seconds(3))
        let rest: [RuleSpec] = [
            .rate(RateParams(limit: 4, window: .seconds(5))),
            .window(WindowParams(every: .seconds(60), aggregates: [.min, .max, .mean, .count], grace: .seconds(2))),
            .stale(StaleParams(after: .seconds(15))),
        ]
        #expect(t.rules == [.limit(limit)] + rest)
        #expect(t.rules(forEquipment: "press-01") == t.rules)
    }

    @Test func demoPress03OverrideRaisesHighAndKeepsTheOtherLimitKeys() throws {
        let config = try EdgeConfiguration.load(file: demoConfigPath)
        let t = try #require(config.sensors.first { $0.name == "temperature" })
        #expect(Array(t.overrides.keys) == ["press-03"])
        let press03 = t.rules(forEquipment: "press-03")
        let expectedLimit = LimitParams(high: 85, highHigh: 92, hysteresis: 3, onDelay: .seconds(2), offDelay: .seconds(3))
        #expect(press03.first == .limit(expectedLimit))
        // The other template rules come along unchanged.
        #expect(Array(press03.dropFirst()) == Array(t.rules.dropFirst()))
        #expect(press03.count == 4)
    }

    @Test func demoPartsAndStateSensors() throws {
        let config = try EdgeConfiguration.load(file: demoConfigPath)
        let parts = try #require(config.sensors.first { $0.name == "parts" })
        #expect(parts.qos == 0)
        #expect(parts.signal.text == "parts")
        #expect(parts.decode == DecodeSpec(format: .number))
        #expect(parts.rules == [.counter(CounterParams(bits: 16, every: .seconds(10), quantity: nil, maxDelta: 500))])
        #expect(parts.overrides.isEmpty)

        let state = try #require(config.sensors.first { $0.name == "state" })
        #expect(state.signal.text == "machine_state")
        #expect(state.topic.match("demo/line1/press-03/state") == ["equipment": "press-03"])
        let map: [String: StateTarget] = [
            "1": StateTarget(.running),
            "2": StateTarget(.idle),
            "3": StateTarget(.down, reason: "mechanical fault"),
            "4": StateTarget(.down, reason: "material shortage"),
        ]
        #expect(state.rules == [.state(StateParams(map: map, unmapped: nil, minDowntime: .seconds(2)))])
    }
}

@Suite("Validation reports every issue, located")
struct ConfigValidationTests {
    static let manyMistakes = """
        site: plant-1
        edge: gw-1
        brokers:
          plant:
            hots: 10.0.0.5
            port: 70000
            host: 10.0.0.5
            host: 10.0.0.6
        ingest:
          max_future_skew: 5x
          max_payload_bytes: lots
        templates:
          hot:
            limit: { high: 80, high_high: 75, hysteresis: -1 }
        sensors:
          - name: t1
            topic: "plant/{equipment}/temp"
            signal: "{line}_temp"
            decode: { format: json }
            template: hott
          - name: t1
            topic: "plant/{equipment}/rpm"
            broker: plnt
            decode: { format: number, value: v }
            rules:
              limt: { high: 1 }
              limit: { high: 50, low: 60 }
          - name: s
            topic: "plant/{equipment}/state"
            decode: { format: text }
            rules:
              state:
                map:
                  "1": runing
          - topic: "plant/x/y"
            equipment: x
          - name: used
            topic: "plant/{equipment}/u"
            decode: { format: number }
            template: hot
        """

    @Test func manyMistakesAreAllReportedSortedAndLocated() {
        let found = issues(Self.manyMistakes, file: "plant.yaml")
        let expected: [(Location, String)] = [
            (Location(5, 5, "brokers.plant"), "unknown key \"hots\" (did you mean \"host\"?); allowed here: \(brokerKeyList)"),
            (Location(6, 11, "brokers.plant.port"), "must be between 1 and 65535, got 70000"),
            (Location(8, 5, "brokers.plant"), "key \"host\" appears twice; keep one"),
            (Location(10, 20, "ingest.max_future_skew"), "expected a duration like 500ms, 5s, 2m, 1h or 1d, got \"5x\""),
            (Location(11, 22, "ingest.max_payload_bytes"), "expected a whole number, got \"lots\""),
            (Location(14, 35, "templates.hot.limit.high_high"), "must be above high (80)"),
            (Location(14, 51, "templates.hot.limit.hysteresis"), "must be at least 0, got -1"),
            (Location(18, 13, "sensors[0].signal"), "{line} is not captured by the topic pattern; captures: {equipment}"),
            (Location(19, 13, "sensors[0].decode"), "JSON decoding needs value: (the path to the reading, like value or data.temp)"),
            (Location(20, 15, "sensors[0].template"), "no template named \"hott\" (did you mean \"hot\"?); templates: hot"),
            (Location(21, 5, "sensors[1]"), "sensor name \"t1\" is used twice; names must be unique"),
            (Location(23, 13, "sensors[1].broker"), "no broker named \"plnt\" (did you mean \"plant\"?); brokers: plant"),
            (Location(24, 38, "sensors[1].decode.value"), "value: applies to format json only; a number payload is the value itself"),
            (Location(26, 7, "sensors[1].rules"), "unknown key \"limt\" (did you mean \"limit\"?); allowed here: \(ruleKindList)"),
            (Location(27, 31, "sensors[1].rules.limit.low"), "must be below the high limit (50)"),
            (Location(34, 16, "sensors[2].rules.state.map.1"), "\"runing\" is not allowed (did you mean \"running\"?); use one of running, idle, down"),
            (Location(35, 5, "sensors[3]"), "give the sensor rules: or a template:"),
            (Location(35, 5, "sensors[3]"), "missing required key \"decode\""),
            (Location(35, 5, "sensors[3]"), "missing required key \"name\""),
            (Location(35, 5, "sensors[3]"), "set signal: (a name, or a {capture} from the topic)"),
        ]
        #expect(found.map(\.location) == expected.map(\.0))
        #expect(found.map(\.message) == expected.map(\.1))
        #expect(found.allSatisfy { $0.file == "plant.yaml" })
        #expect(found == found.sorted())
    }

    @Test func errorDescriptionNamesFileLineColumnAndCountsIssues() {
        do {
            _ = try EdgeConfiguration.parse(yaml: Self.manyMistakes, file: "plant.yaml")
            Issue.record("expected a ConfigError")
        } catch {
            let text = error.description
            #expect(text.contains("plant.yaml:6:11: brokers.plant.port: must be between 1 and 65535, got 70000"))
            #expect(text.contains("plant.yaml:35:5: sensors[3]: missing required key \"name\""))
            #expect(text.hasSuffix("\n20 errors in the configuration; nothing was changed."))
            #expect(text.split(separator: "\n").count == 21)
            #expect(error.issues[0].description.hasPrefix("plant.yaml:5:5: brokers.plant: unknown key"))
        }
    }

    @Test func singleIssueDescriptionUsesSingular() {
        let error = ConfigError(issues: [ConfigIssue(file: "a.yaml", line: 3, column: 7, path: "", message: "boom")])
        #expect(error.description == "a.yaml:3:7: boom\n1 error in the configuration; nothing was changed.")
    }

    @Test func issuesSortByLineThenColumnThenMessage() {
        let a = ConfigIssue(file: "f", line: 2, column: 9, path: "z", message: "b")
        let b = ConfigIssue(file: "f", line: 3, column: 1, path: "a", message: "a")
        let c = ConfigIssue(file: "f", line: 3, column: 1, path: "a", message: "c")
        let d = ConfigIssue(file: "f", line: 3, column: 4, path: "a", message: "a")
        #expect([d, c, b, a].sorted() == [a, b, c, d])
    }

    @Test func missingTopLevelKeysAreReportedAtTheDocumentStart() {
        let found = issues("ingest: {}\n")
        #expect(found.map(\.message) == [
            "missing required key \"brokers\"",
            "missing required key \"edge\"",
            "missing required key \"sensors\"",
            "missing required key \"site\"",
        ])
        #expect(found.allSatisfy { $0.location == Location(1, 1, "") })
    }

    @Test func missingSensorTopicIsReportedAtTheSensor() {
        let found = issues("""
            site: s
            edge: e
            brokers:
              plant: {}
            sensors:
              - name: x
                decode: { format: number }
                rules: { stale: { after: 5s } }
            """)
        #expect(found.map(\.location) == [Location(6, 5, "sensors[0]"), Location(6, 5, "sensors[0]")])
        #expect(found.map(\.message) == [
            "missing required key \"topic\"",
            "set equipment: (a name, or a {capture} from the topic)",
        ])
    }

    @Test func topLevelMustBeAMapping() {
        let found = issues("- a\n- b\n")
        #expect(found.map(\.message) == ["expected a mapping (key: value lines), got a list"])
        #expect(found.map(\.location) == [Location(1, 1, "")])
    }

    /// A control character (pasted from a terminal, a tab copied into a value) is located where it
    /// is, not at 1:1 with the position hidden in the message.
    @Test func aControlCharacterIsReportedAtItsLineAndColumn() {
        let found = issues("site: s\nedge: e\nbrokers:\n  plant: { host: ab\u{07}c }\n")
        #expect(found.map(\.location) == [Location(4, 20, "")])
        #expect(found.first?.message.contains("U+0007") == true, "\(found)")
    }

    @Test func unknownTopLevelKeyGetsAHint() {
        let found = issues("""
            site: s
            edge: e
            brokers:
              plant: {}
            sensor:
              - name: x
            """)
        #expect(found.map(\.location) == [Location(1, 1, ""), Location(5, 1, "")])
        #expect(found.map(\.message) == [
            "missing required key \"sensors\"",
            "unknown key \"sensor\" (did you mean \"sensors\"?); allowed here: site, edge, data_dir, brokers, ingest, templates, sensors, uplink, outbox",
        ])
    }

    @Test func unknownKeyFarFromAnyAllowedKeyGetsNoHint() {
        let found = issues("""
            site: s
            edge: e
            brokers:
              plant: { zzzzzzzz: 1 }
            sensors:
              - name: x
                topic: a/b
                equipment: m
                decode: { format: number }
                rules: { stale: { after: 5s } }
            """)
        #expect(found.map(\.message) == ["unknown key \"zzzzzzzz\"; allowed here: \(brokerKeyList)"])
        #expect(found.map(\.location) == [Location(4, 12, "brokers.plant")])
    }

    @Test func textWhereANumberIsExpected() {
        let found = issues("""
            site: s
            edge: e
            brokers:
              plant: { port: "http" }
            sensors:
              - name: x
                topic: "a/{equipment}"
                decode: { format: number }
                qos: high
                rules:
                  limit: { high: hot, low: [1] }
            """)
        #expect(found.map(\.location) == [
            Location(4, 18, "brokers.plant.port"),
            Location(9, 10, "sensors[0].qos"),
            Location(11, 22, "sensors[0].rules.limit.high"),
            Location(11, 32, "sensors[0].rules.limit.low"),
        ])
        #expect(found.map(\.message) == [
            "expected a whole number, got \"http\"",
            "expected a whole number, got \"high\"",
            "expected a number, got \"hot\"",
            "expected a number, got a list",
        ])
    }

    @Test func limitOrderingChecks() {
        let found = issues("""
            site: s
            edge: e
            brokers:
              plant: {}
            sensors:
              - name: x
                topic: "a/{equipment}"
                decode: { format: number }
                rules:
                  limit: { high: 80, high_high: 80, low: 20, low_low: 25, hysteresis: 30 }
            """)
        #expect(found.map(\.message) == [
            "must be above high (80)",
            "must be below low (20)",
            "must be less than half the gap between low and high limits (30)",
        ])
        #expect(found.map(\.path) == [
            "sensors[0].rules.limit.high_high",
            "sensors[0].rules.limit.low_low",
            "sensors[0].rules.limit.hysteresis",
        ])
        #expect(found.map(\.line) == [10, 10, 10])
        #expect(found.map(\.column) == [37, 59, 75])
    }

    @Test func limitNeedsAThreshold() {
        let found = issues("""
            site: s
            edge: e
            brokers:
              plant: {}
            sensors:
              - name: x
                topic: "a/{equipment}"
                decode: { format: number }
                rules:
                  limit: { hysteresis: 1 }
            """)
        #expect(found.map(\.message) == ["the limit rule needs at least one of high, high_high, low, low_low"])
        #expect(found.map(\.location) == [Location(10, 7, "sensors[0].rules")])
    }

    /// A minimal edge configuration with these `uplink` keys.
    static func yaml(_ uplink: String) -> String {
        """
        site: s
        edge: e
        brokers:
          plant: {}
        uplink: { \(uplink) }
        sensors:
          - name: x
            topic: "a/{equipment}"
            decode: { format: number }
            rules:
              stale: { after: 5s }
        """
    }

    /// A drain rate the token bucket can never fill would hold the backlog forever: refused.
    @Test func drainRatesThatCouldNeverSendAreRefused() {
        let found = issues(Self.yaml("drain_events_per_s: 0.5, drain_bytes_per_s: 100"))
        #expect(found.map(\.path) == ["uplink.drain_events_per_s", "uplink.drain_bytes_per_s"])
        #expect(found.first?.message.contains("never sends") == true, "\(found)")
        #expect(throws: Never.self) { try EdgeConfiguration.parse(yaml: Self.yaml("drain_events_per_s: 0, drain_bytes_per_s: 512")) }
    }

    /// The uplink window: its mode by name (with a hint for a misspelling), a latency target the
    /// ack timeout leaves room for, and the defaults a user who sets nothing gets.
    @Test func uplinkWindowSettings() throws {
        let misspelt = issues(Self.yaml("window: adaptiv"))
        #expect(misspelt.map(\.path) == ["uplink.window"])
        #expect(misspelt.first?.message.contains("did you mean \"adaptive\"") == true, "\(misspelt)")
        let tooLong = issues(Self.yaml("ack_timeout: 4s, target_ack_latency: 4s"))
        #expect(tooLong.map(\.path) == ["uplink.target_ack_latency"])
        #expect(tooLong.first?.message.contains("shorter than ack_timeout") == true, "\(tooLong)")

        let defaults = try #require(try EdgeConfiguration.parse(yaml: Self.yaml("port: 1884")).uplink)
        #expect(defaults.window == .adaptive && defaults.maxInflightBatches == 64)
        #expect(defaults.batchEvents == 2000 && defaults.batchBytes == 1 << 20)
        #expect(defaults.effectiveTargetAckLatency == Millis(2500), "a quarter of the 10 s ack timeout")
        let set = try #require(try EdgeConfiguration.parse(yaml: Self.yaml("window: fixed, max_inflight_batches: 16, ack_timeout: 30s")).uplink)
        #expect(set.window == .fixed && set.maxInflightBatches == 16)
        #expect(set.effectiveTargetAckLatency == Millis(7500))
        let target = try #require(try EdgeConfiguration.parse(yaml: Self.yaml("target_ack_latency: 800ms")).uplink)
        #expect(target.effectiveTargetAckLatency == Millis(800))
    }

    @Test func badDurationsAndOutOfRangeNumbers() {
        let found = issues("""
            site: s
            edge: e
            brokers:
              plant:
                port: 0
                keepalive: 2s
                reconnect: { initial: 0s, maximum: 1s, jitter: 2 }
            sensors:
              - name: x
                topic: "a/{equipment}"
                decode: { format: number }
                qos: 3
                rules:
                  stale: { after: -1s }
                  rate: { limit: 0, window: 1e300s }
            """)
        #expect(found.map(\.location) == [
            Location(5, 11, "brokers.plant.port"),
            Location(6, 16, "brokers.plant.keepalive"),
            Location(7, 27, "brokers.plant.reconnect.initial"),
            Location(7, 52, "brokers.plant.reconnect.jitter"),
            Location(12, 10, "sensors[0].qos"),
            Location(14, 23, "sensors[0].rules.stale.after"),
            Location(15, 22, "sensors[0].rules.rate.limit"),
            Location(15, 33, "sensors[0].rules.rate.window"),
        ])
        #expect(found.map(\.message) == [
            "must be between 1 and 65535, got 0",
            "must be between 5s and 65535s",
            "must be longer than 0, got 0s",
            "must be between 0 and 1",
            "must be between 0 and 2, got 3",
            "expected a duration like 500ms, 5s, 2m, 1h or 1d, got \"-1s\"",
            "must be greater than 0, got 0",
            "expected a duration like 500ms, 5s, 2m, 1h or 1d, got \"1e300s\"",
        ])
    }

    @Test func duplicateKeysAreReportedWithEveryOtherIssue() {
        let found = issues("""
            site: s
            edge: e
            brokers:
              plant:
                port: 1884
                port: 1885
            sensors:
              - name: x
                topic: "a/{equipment}"
                decode: { format: number, format: json }
                rules:
                  state:
                    map:
                      "1": running
                      "1": idle
                      "2": sleeping
            """)
        #expect(found.map(\.location) == [
            Location(6, 5, "brokers.plant"),
            Location(10, 31, "sensors[0].decode"),
            Location(15, 11, "sensors[0].rules.state.map"),
            Location(16, 16, "sensors[0].rules.state.map.2"),
        ])
        #expect(found.map(\.message) == [
            "key \"port\" appears twice; keep one",
            "key \"format\" appears twice; keep one",
            "key \"1\" appears twice; keep one",
            "\"sleeping\" is not allowed; use one of running, idle, down",
        ])
    }

    @Test func repeatedTopLevelKeyIsLocatedAtTheLaterOne() {
        let found = issues("""
            site: s
            site: t
            edge: e
            brokers:
              plant: {}
            sensors:
              - name: x
                topic: "a/{equipment}"
                decode: { format: number }
                rules: { stale: { after: 5s } }
            """)
        #expect(found.map(\.location) == [Location(2, 1, "")])
        #expect(found.map(\.message) == ["key \"site\" appears twice; keep one"])
    }

    @Test func aKeyRepeatedThreeTimesIsReportedTwice() {
        let found = issues("""
            site: s
            edge: e
            brokers:
              plant: { host: a, host: b, host: c }
            sensors:
              - name: x
                topic: "a/{equipment}"
                decode: { format: number }
                rules: { stale: { after: 5s } }
            """)
        #expect(found.map(\.location) == [Location(4, 21, "brokers.plant"), Location(4, 30, "brokers.plant")])
        #expect(found.allSatisfy { $0.message == "key \"host\" appears twice; keep one" })
    }

    @Test func duplicateSensorNames() {
        let found = issues("""
            site: s
            edge: e
            brokers:
              plant: {}
            sensors:
              - name: temp
                topic: "a/{equipment}/t"
                decode: { format: number }
                rules: { stale: { after: 5s } }
              - name: temp
                topic: "b/{equipment}/t"
                decode: { format: number }
                rules: { stale: { after: 5s } }
              - name: temp
                topic: "c/{equipment}/t"
                decode: { format: number }
                rules: { stale: { after: 5s } }
            """)
        #expect(found.map(\.location) == [Location(10, 5, "sensors[1]"), Location(14, 5, "sensors[2]")])
        #expect(found.allSatisfy { $0.message == "sensor name \"temp\" is used twice; names must be unique" })
    }

    @Test func duplicateSensorNameIsReportedEvenWhenTheFirstSensorHasOtherMistakes() {
        let found = issues("""
            site: s
            edge: e
            brokers:
              plant: {}
            sensors:
              - name: temp
                topic: "a/{equipment}/t"
                rules: { stale: { after: 5s } }
              - name: temp
                topic: "b/{equipment}/t"
                decode: { format: number }
                rules: { stale: { after: 5s } }
            """)
        #expect(found.map(\.location) == [Location(6, 5, "sensors[0]"), Location(9, 5, "sensors[1]")])
        #expect(found.map(\.message) == [
            "missing required key \"decode\"",
            "sensor name \"temp\" is used twice; names must be unique",
        ])
    }

    @Test func captureNotInTheTopic() {
        let found = issues("""
            site: s
            edge: e
            brokers:
              plant: {}
            sensors:
              - name: a
                topic: "plant/{line}/{cell}/t"
                equipment: "{line}-{machine}"
                signal: "{cell}"
                decode: { format: number }
                rules: { stale: { after: 5s } }
              - name: b
                topic: "plant/fixed/t"
                equipment: m1
                signal: "{signal}"
                decode: { format: number }
                rules: { stale: { after: 5s } }
            """)
        #expect(found.map(\.location) == [Location(8, 16, "sensors[0].equipment"), Location(15, 13, "sensors[1].signal")])
        #expect(found.map(\.message) == [
            "{machine} is not captured by the topic pattern; captures: {line}, {cell}",
            "{signal} is not captured by the topic pattern; captures: none",
        ])
    }

    @Test func invalidTopicPatternIsReportedAtTheTopic() {
        let found = issues("""
            site: s
            edge: e
            brokers:
              plant: {}
            sensors:
              - name: a
                topic: "plant/#/t"
                equipment: m
                decode: { format: number }
                rules: { stale: { after: 5s } }
            """)
        #expect(found.map(\.location) == [Location(7, 12, "sensors[0].topic")])
        #expect(found.map(\.message) == ["\"#\" may only be the last level"])
    }

    @Test func decodeChecks() {
        let found = issues("""
            site: s
            edge: e
            brokers:
              plant: {}
            sensors:
              - name: a
                topic: "a/{equipment}/a"
                decode: { format: json, time: "a..b", time_format: unix }
                rules: { stale: { after: 5s } }
              - name: b
                topic: "a/{equipment}/b"
                decode: { format: boolean, time: ts }
                rules: { stale: { after: 5s } }
              - name: c
                topic: "a/{equipment}/c"
                decode: { format: xml }
                rules: { stale: { after: 5s } }
              - name: d
                topic: "a/{equipment}/d"
                decode: { format: json, value: "readings[x]" }
                rules: { stale: { after: 5s } }
            """)
        #expect(found.map(\.location) == [
            Location(8, 13, "sensors[0].decode"),
            Location(8, 35, "sensors[0].decode.time"),
            Location(8, 56, "sensors[0].decode.time_format"),
            Location(12, 38, "sensors[1].decode.time"),
            Location(16, 23, "sensors[2].decode.format"),
            Location(20, 36, "sensors[3].decode.value"),
        ])
        #expect(found.map(\.message) == [
            "JSON decoding needs value: (the path to the reading, like value or data.temp)",
            "\"a..b\" is not a JSON path; write it like value, data.temp or readings[0].v",
            "\"unix\" is not allowed (did you mean \"unix_s\"?); use one of auto, unix_ms, unix_s, rfc3339",
            "time: applies to format json only; a boolean payload is the value itself",
            "\"xml\" is not allowed; use one of json, number, boolean, text",
            "\"readings[x]\" is not a JSON path; write it like value, data.temp or readings[0].v",
        ])
    }

    @Test func decodeJSONPathsAndTimeFormat() throws {
        let config = try parse("""
            site: s
            edge: e
            brokers:
              plant: {}
            sensors:
              - name: a
                topic: "a/{equipment}/a"
                decode: { format: json, value: "$.data.readings[0].v", time: meta.ts, time_format: unix_ms }
                rules: { stale: { after: 5s } }
            """)
        let d = config.sensors[0].decode
        #expect(d.format == .json)
        #expect(d.valuePath.components == [.key("data"), .key("readings"), .index(0), .key("v")])
        #expect(d.timePath == JSONPath(components: [.key("meta"), .key("ts")]))
        #expect(d.timeFormat == .unixMs)
    }

    @Test func stateMapChecks() {
        let found = issues("""
            site: s
            edge: e
            brokers:
              plant: {}
            sensors:
              - name: a
                topic: "a/{equipment}/a"
                decode: { format: text }
                rules:
                  state:
                    map:
                      RUN: running
                      E1: { state: broken, reason: x }
                      E2: { reason: y }
                      E3: { state: down, why: z }
                    unmapped: idel
            """)
        #expect(found.map(\.location) == [
            Location(13, 24, "sensors[0].rules.state.map.E1.state"),
            Location(14, 15, "sensors[0].rules.state.map.E2"),
            Location(15, 30, "sensors[0].rules.state.map.E3"),
            Location(16, 19, "sensors[0].rules.state.unmapped"),
        ])
        #expect(found.map(\.message) == [
            "\"broken\" is not allowed; use one of running, idle, down",
            "missing required key \"state\"",
            "unknown key \"why\"; allowed here: state, reason",
            "\"idel\" is not allowed (did you mean \"idle\"?); use one of running, idle, down",
        ])
    }

    @Test func stateMapMustNotBeEmpty() {
        let found = issues("""
            site: s
            edge: e
            brokers:
              plant: {}
            sensors:
              - name: a
                topic: "a/{equipment}/a"
                decode: { format: text }
                rules:
                  state: { map: {}, min_downtime: soon }
            """)
        #expect(found.map(\.location) == [Location(10, 21, "sensors[0].rules.state.map"), Location(10, 39, "sensors[0].rules.state.min_downtime")])
        #expect(found.map(\.message) == [
            "map at least one state code to running, idle or down",
            "expected a duration like 500ms, 5s, 2m, 1h or 1d, got \"soon\"",
        ])
    }

    @Test func ruleMissingKeysAreReportedWithTheOtherKeysIssues() {
        let found = issues("""
            site: s
            edge: e
            brokers:
              plant: {}
            sensors:
              - name: a
                topic: "a/{equipment}/a"
                decode: { format: number }
                rules:
                  rate: { window: 5x }
                  window: { aggregates: [min, median], grace: later }
                  counter: { bits: 12, every: 5x, quantity: 0 }
                  state: { min_downtime: 5x }
                  deadband: {}
            """)
        #expect(found.map(\.location) == [
            Location(10, 7, "sensors[0].rules"),
            Location(10, 7, "sensors[0].rules"),
            Location(10, 7, "sensors[0].rules"),
            Location(10, 7, "sensors[0].rules"),
            Location(10, 23, "sensors[0].rules.rate.window"),
            Location(11, 35, "sensors[0].rules.window.aggregates[1]"),
            Location(11, 51, "sensors[0].rules.window.grace"),
            Location(12, 24, "sensors[0].rules.counter.bits"),
            Location(12, 35, "sensors[0].rules.counter.every"),
            Location(12, 49, "sensors[0].rules.counter.quantity"),
            Location(13, 30, "sensors[0].rules.state.min_downtime"),
        ])
        #expect(found.map(\.message) == [
            "the deadband rule needs absolute, percent or heartbeat",
            "the rate rule needs \"limit\"",
            "the state rule needs \"map\"",
            "the window rule needs \"every\"",
            "expected a duration like 500ms, 5s, 2m, 1h or 1d, got \"5x\"",
            "\"median\" is not allowed (did you mean \"mean\"?); use one of min, max, mean, count, last",
            "expected a duration like 500ms, 5s, 2m, 1h or 1d, got \"later\"",
            "\"12\" is not allowed (did you mean \"16\"?); use one of 16, 32, 64",
            "expected a duration like 500ms, 5s, 2m, 1h or 1d, got \"5x\"",
            "must be greater than 0, got 0",
            "expected a duration like 500ms, 5s, 2m, 1h or 1d, got \"5x\"",
        ])
    }

    @Test func unknownRuleSettingGetsAHint() {
        let found = issues("""
            site: s
            edge: e
            brokers:
              plant: {}
            sensors:
              - name: a
                topic: "a/{equipment}/a"
                decode: { format: number }
                rules:
                  stale: { after: 5s, aftr: 6s }
            """)
        #expect(found.map(\.location) == [Location(10, 33, "sensors[0].rules.stale.aftr")])
        #expect(found.map(\.message) == ["unknown stale setting \"aftr\" (did you mean \"after\"?); allowed: after"])
    }

    @Test func sensorWithoutRulesOrTemplate() {
        let found = issues("""
            site: s
            edge: e
            brokers:
              plant: {}
            sensors:
              - name: a
                topic: "a/{equipment}/a"
                decode: { format: number }
            """)
        #expect(found.map(\.location) == [Location(6, 5, "sensors[0]")])
        #expect(found.map(\.message) == ["give the sensor rules: or a template:"])
    }

    @Test func emptySensorListAndEmptyBrokers() {
        let found = issues("""
            site: s
            edge: e
            brokers: {}
            sensors: []
            """)
        #expect(found.map(\.location) == [Location(3, 10, "brokers"), Location(4, 10, "sensors")])
        #expect(found.map(\.message) == ["define at least one broker", "list at least one sensor"])
    }

    @Test func siteAndEdgeNamesMustBeTopicSafe() {
        let found = issues("""
            site: "plant/1"
            edge: "gw 1"
            brokers:
              plant: {}
            sensors:
              - name: a
                topic: "a/{equipment}/a"
                decode: { format: number }
                rules: { stale: { after: 5s } }
            """)
        #expect(found.map(\.location) == [Location(1, 7, "site"), Location(2, 7, "edge")])
        #expect(found.map(\.message) == [
            "\"plant/1\" may hold only letters, digits, '-', '_' and '.' (it becomes part of MQTT topics)",
            "\"gw 1\" may hold only letters, digits, '-', '_' and '.' (it becomes part of MQTT topics)",
        ])
    }

    @Test func invalidYAMLReportsTheLine() {
        let found = issues("""
            site: a
            edge: b
              brokers: x
            sensors: []
            """, file: "bad.yaml")
        #expect(found.count == 1)
        let issue = found.first
        #expect(issue?.file == "bad.yaml")
        #expect(issue?.line == 3)
        #expect(issue?.column == 10)
        #expect(issue?.message.hasPrefix("not valid YAML: mapping values are not allowed in this context") == true)
        #expect(issue?.message.hasSuffix("(check indentation and quoting on this line)") == true)
    }

    @Test func unterminatedFlowMappingReportsALaterLine() {
        let found = issues("site: a\nedge: b\nbrokers: { plant: {}\nsensors: []\n")
        #expect(found.map(\.location) == [Location(4, 1, "")])
        #expect(found.first?.message.hasPrefix("not valid YAML: did not find expected ',' or '}'") == true)
    }

    @Test(arguments: ["", "\n\n", "# nothing here yet\n"])
    func emptyFile(text: String) {
        let found = issues(text, file: "empty.yaml")
        #expect(found.map(\.location) == [Location(1, 1, "")])
        #expect(found.map(\.message) == ["the file is empty; see edge/examples/demo.yaml"])
        #expect(found.first?.file == "empty.yaml")
    }

    @Test func unreadableFile() {
        let path = "/nonexistent-\(UUID().uuidString)/edge.yaml"
        do {
            _ = try EdgeConfiguration.load(file: path)
            Issue.record("expected a ConfigError")
        } catch {
            #expect(error.issues.count == 1)
            #expect(error.issues.first?.file == path)
            #expect(error.issues.first?.message.hasPrefix("cannot read the file: ") == true)
            #expect(error.description.hasPrefix("\(path):1:1: cannot read the file"))
        }
    }
}

/// `counter.pause`: left out it stays nil (the 5 s default, and equal to rule state saved before the
/// key existed, so an upgrade keeps counting where it was); `0s` turns it off; a bad value is located.
@Suite struct CounterPauseConfigTests {
    func yaml(_ counter: String) -> String {
        """
        site: s
        edge: e
        brokers:
          plant: {}
        sensors:
          - name: parts
            topic: "a/{equipment}/parts"
            decode: { format: number }
            rules:
              counter: \(counter)
        """
    }

    func counterRules(_ counter: String) throws -> [RuleSpec] { try parse(yaml(counter)).sensors[0].rules }

    @Test func pauseIsReadAndLeftOutMeansTheDefault() throws {
        #expect(try counterRules("{ every: 10s }") == [.counter(CounterParams(bits: 32, every: .seconds(10)))])
        #expect(try counterRules("{ every: 10s }") == [.counter(CounterParams(bits: 32, every: .seconds(10), pause: nil))])
        #expect(try counterRules("{ pause: 3s }") == [.counter(CounterParams(pause: .seconds(3)))])
        #expect(try counterRules("{ pause: 0s }") == [.counter(CounterParams(pause: .zero))])
        let found = issues(yaml("{ pause: soon }"))
        #expect(found.map(\.location) == [Location(10, 25, "sensors[0].rules.counter.pause")], "\(found)")
    }
}
