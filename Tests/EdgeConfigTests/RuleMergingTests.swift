import Foundation
import Testing
@testable import EdgeConfig
import EdgeRules
import MillwrightCore

@Suite("Templates, sensor rules and per-equipment overrides")
struct RuleMergingTests {
    static let merged = """
        site: s
        edge: e
        brokers:
          plant: {}
        templates:
          temp:
            limit: { high: 80, high_high: 92, hysteresis: 3, on_delay: 2s }
            rate: { limit: 4, window: 5s }
            stale: { after: 15s }
        sensors:
          - name: a
            topic: "p/{equipment}/a"
            decode: { format: number }
            template: temp
            rules:
              limit: { high: 85, low: 10 }
              rate: false
              deadband: { absolute: 0.5 }
            overrides:
              m-1:
                limit: { high_high: 95 }
                stale: false
              m-2:
                window: { every: 1m, aggregates: [mean] }
          - name: b
            topic: "p/{equipment}/b"
            decode: { format: number }
            template: temp
        """

    @Test func sensorRulesOverrideIndividualTemplateKeys() throws {
        let config = try parse(Self.merged)
        let a = config.sensors[0]
        #expect(a.rules == [
            .limit(LimitParams(high: 85, highHigh: 92, low: 10, hysteresis: 3, onDelay: .seconds(2))),
            .deadband(DeadbandParams(absolute: 0.5)),
            .stale(StaleParams(after: .seconds(15))),
        ])
    }

    @Test func templateRulesAreUnchangedForOtherSensors() throws {
        let config = try parse(Self.merged)
        let b = config.sensors[1]
        #expect(b.rules == [
            .limit(LimitParams(high: 80, highHigh: 92, hysteresis: 3, onDelay: .seconds(2))),
            .rate(RateParams(limit: 4, window: .seconds(5))),
            .stale(StaleParams(after: .seconds(15))),
        ])
        #expect(b.overrides.isEmpty)
    }

    @Test func overridesMergeOverTheSensorsMergedRules() throws {
        let config = try parse(Self.merged)
        let a = config.sensors[0]
        #expect(Set(a.overrides.keys) == ["m-1", "m-2"])
        #expect(a.rules(forEquipment: "m-1") == [
            .limit(LimitParams(high: 85, highHigh: 95, low: 10, hysteresis: 3, onDelay: .seconds(2))),
            .deadband(DeadbandParams(absolute: 0.5)),
        ])
        #expect(a.rules(forEquipment: "m-2") == [
            .limit(LimitParams(high: 85, highHigh: 92, low: 10, hysteresis: 3, onDelay: .seconds(2))),
            .deadband(DeadbandParams(absolute: 0.5)),
            .window(WindowParams(every: .seconds(60), aggregates: [.mean], grace: .seconds(2))),
            .stale(StaleParams(after: .seconds(15))),
        ])
        #expect(a.rules(forEquipment: "m-3") == a.rules)
    }

    @Test func falseRemovesATemplateRuleAndTrueKeepsIt() throws {
        let config = try parse("""
            site: s
            edge: e
            brokers:
              plant: {}
            templates:
              t:
                limit: { high: 80 }
                stale: { after: 15s }
            sensors:
              - name: a
                topic: "p/{equipment}/a"
                decode: { format: number }
                template: t
                rules:
                  limit: false
                  stale: yes
            """)
        #expect(config.sensors[0].rules == [.stale(StaleParams(after: .seconds(15)))])
    }

    @Test func ruleSwitchMustBeABoolean() {
        let found = issues("""
            site: s
            edge: e
            brokers:
              plant: {}
            templates:
              t:
                limit: { high: 80 }
            sensors:
              - name: a
                topic: "p/{equipment}/a"
                decode: { format: number }
                template: t
                rules:
                  limit: maybe
            """)
        #expect(found.map(\.location) == [Location(14, 14, "sensors[0].rules.limit")])
        #expect(found.map(\.message) == ["expected true or false, got \"maybe\""])
    }

    @Test func errorsInATemplateUsedTwiceAreReportedOnce() {
        let found = issues("""
            site: s
            edge: e
            brokers:
              plant: {}
            templates:
              t:
                limit: { high: 80, high_high: 70, hihg: 3 }
                rate: { limit: 2 }
            sensors:
              - name: a
                topic: "p/{equipment}/a"
                decode: { format: number }
                template: t
              - name: b
                topic: "p/{equipment}/b"
                decode: { format: number }
                template: t
            """)
        #expect(found.map(\.location) == [
            Location(7, 5, "templates.t"),
            Location(7, 35, "templates.t.limit.high_high"),
            Location(7, 45, "templates.t.limit.hihg"),
        ])
        #expect(found.map(\.message) == [
            "the rate rule needs \"window\"",
            "must be above high (80)",
            "unknown limit setting \"hihg\" (did you mean \"high\"?); allowed: \(limitKeyList)",
        ])
    }

    @Test func errorsFromASensorOverridePointAtTheSensor() {
        let found = issues("""
            site: s
            edge: e
            brokers:
              plant: {}
            templates:
              t:
                limit: { high: 80, high_high: 92 }
            sensors:
              - name: a
                topic: "p/{equipment}/a"
                decode: { format: number }
                template: t
                rules:
                  limit: { high: hot }
                overrides:
                  m-1:
                    limit: { high: 95 }
            """)
        #expect(found.map(\.location) == [
            Location(7, 35, "templates.t.limit.high_high"),
            Location(14, 22, "sensors[0].rules.limit.high"),
        ])
        #expect(found.map(\.message) == [
            "must be above high (95)",
            "expected a number, got \"hot\"",
        ])
    }

    @Test func overrideErrorsPointAtTheOverride() {
        let found = issues("""
            site: s
            edge: e
            brokers:
              plant: {}
            sensors:
              - name: a
                topic: "p/{equipment}/a"
                decode: { format: number }
                rules:
                  limit: { high: 80 }
                overrides:
                  m-1:
                    limit: { high_high: 50 }
                    rate: { limit: 1 }
                  m-2: nope
            """)
        #expect(found.map(\.location) == [
            Location(13, 9, "sensors[0].overrides.m-1"),
            Location(13, 29, "sensors[0].overrides.m-1.limit.high_high"),
            Location(15, 12, "sensors[0].overrides.m-2"),
        ])
        #expect(found.map(\.message) == [
            "the rate rule needs \"window\"",
            "must be above high (80)",
            "expected a mapping (key: value lines), got \"nope\"",
        ])
    }

    @Test func unknownTemplateNameListsTheTemplates() {
        let found = issues("""
            site: s
            edge: e
            brokers:
              plant: {}
            templates:
              spindle: { stale: { after: 5s } }
              motor: { stale: { after: 5s } }
            sensors:
              - name: a
                topic: "p/{equipment}/a"
                decode: { format: number }
                template: spindel
            """)
        #expect(found.map(\.location) == [Location(12, 15, "sensors[0].template")])
        #expect(found.map(\.message) == ["no template named \"spindel\" (did you mean \"spindle\"?); templates: motor, spindle"])
    }

    @Test func unknownRuleKindInATemplate() {
        let found = issues("""
            site: s
            edge: e
            brokers:
              plant: {}
            templates:
              t:
                stail: { after: 5s }
                limit: { high: 1 }
            sensors:
              - name: a
                topic: "p/{equipment}/a"
                decode: { format: number }
                template: t
            """)
        #expect(found.map(\.location) == [Location(7, 5, "templates.t")])
        #expect(found.map(\.message) == ["unknown key \"stail\" (did you mean \"stale\"?); allowed here: \(ruleKindList)"])
    }

    @Test func missingKeyInATemplateRuleCompletedByTheSensor() throws {
        // The template leaves `window` out; each sensor gives it, so the merged rule is complete.
        let config = try parse("""
            site: s
            edge: e
            brokers:
              plant: {}
            templates:
              t:
                rate: { limit: 2 }
            sensors:
              - name: a
                topic: "p/{equipment}/a"
                decode: { format: number }
                template: t
                rules:
                  rate: { window: 10s }
            """)
        #expect(config.sensors[0].rules == [.rate(RateParams(limit: 2, window: .seconds(10)))])
    }
}
