import Foundation
import Testing
@testable import EdgeConfig
import EdgeRules
import MillwrightCore

@Suite("Topic patterns and capture templates")
struct TopicPatternTests {
    @Test func parsesLevels() throws {
        let p = try TopicPattern("acme/{line}/+/{equipment}/#")
        #expect(p.text == "acme/{line}/+/{equipment}/#")
        #expect(p.description == "acme/{line}/+/{equipment}/#")
        #expect(p.levels == [.literal("acme"), .capture("line"), .any, .capture("equipment"), .rest])
        #expect(p.captureNames == ["line", "equipment"])
    }

    @Test(arguments: [
        ("acme/{line}/{equipment}/temp", "acme/+/+/temp"),
        ("acme/+/x/#", "acme/+/x/#"),
        ("#", "#"),
        ("plain/topic", "plain/topic"),
        ("a//{b}", "a//+"),
    ])
    func subscriptionFilter(pattern: String, filter: String) throws {
        #expect(try TopicPattern(pattern).subscriptionFilter == filter)
    }

    @Test func matchCapturesLevels() throws {
        let p = try TopicPattern("acme/{line}/{equipment}/temp")
        #expect(p.match("acme/l1/press-7/temp") == ["line": "l1", "equipment": "press-7"])
        #expect(p.match("acme/l1/press-7/pressure") == nil)
        #expect(p.match("other/l1/press-7/temp") == nil)
    }

    @Test func matchNeedsTheSameNumberOfLevels() throws {
        let p = try TopicPattern("a/{x}/c")
        #expect(p.match("a/b/c") == ["x": "b"])
        #expect(p.match("a/b") == nil)
        #expect(p.match("a/b/c/d") == nil)
        #expect(p.match("a/b/c/") == nil)
        #expect(p.match("") == nil)
    }

    @Test func plusMatchesOneLevelWithoutCapturing() throws {
        let p = try TopicPattern("a/+/{x}")
        #expect(p.match("a/anything/v") == ["x": "v"])
        #expect(p.match("a//v") == ["x": "v"])
        #expect(p.match("a/v") == nil)
        #expect(p.match("a/b/c/v") == nil)
    }

    @Test func trailingHashMatchesTheRest() throws {
        let p = try TopicPattern("a/{x}/#")
        #expect(p.match("a/b/c/d/e") == ["x": "b"])
        #expect(p.match("a/b/c") == ["x": "b"])
        // As in MQTT, "a/b/#" also matches the parent level "a/b".
        #expect(p.match("a/b") == ["x": "b"])
        #expect(p.match("a") == nil)
        #expect(p.match("z/b/c") == nil)
        #expect(try TopicPattern("#").match("any/thing/at/all") == [:])
    }

    @Test func emptyLevelDoesNotMatchACapture() throws {
        let p = try TopicPattern("a/{x}/c")
        #expect(p.match("a//c") == nil)
        #expect(try TopicPattern("{x}").match("") == nil)
        #expect(try TopicPattern("{x}").match("v") == ["x": "v"])
    }

    @Test func literalPatternMatchesExactly() throws {
        let p = try TopicPattern("plant/line1/temp")
        #expect(p.match("plant/line1/temp") == [:])
        #expect(p.match("plant/line1/Temp") == nil)
        #expect(p.captureNames.isEmpty)
    }

    @Test(arguments: [
        ("", "a topic pattern cannot be empty"),
        ("a/#/b", "\"#\" may only be the last level"),
        ("#/a", "\"#\" may only be the last level"),
        ("a+b/c", "level \"a+b\" mixes text with a wildcard; a wildcard must be a whole level (+, # or {name})"),
        ("a/b#", "level \"b#\" mixes text with a wildcard; a wildcard must be a whole level (+, # or {name})"),
        ("a/x{y}", "level \"x{y}\" mixes text with a wildcard; a wildcard must be a whole level (+, # or {name})"),
        ("a/{}", "level \"{}\" mixes text with a wildcard; a wildcard must be a whole level (+, # or {name})"),
        ("a/{x}/{x}", "capture {x} appears twice"),
        ("a/{x-y}", "capture name \"x-y\" may hold only letters, digits and _"),
    ])
    func invalidPatternsThrow(pattern: String, message: String) {
        let error = #expect(throws: PatternError.self) {
            try TopicPattern(pattern)
        }
        #expect(error?.description == message)
    }

    @Test func captureTemplatePlaceholders() {
        #expect(CaptureTemplate("{line}-{machine}").placeholders == ["line", "machine"])
        #expect(CaptureTemplate("press-7").placeholders == [])
        #expect(CaptureTemplate("x{a}y{b}z{a}").placeholders == ["a", "b", "a"])
        #expect(CaptureTemplate("{unclosed").placeholders == [])
        #expect(CaptureTemplate("}{a}").placeholders == ["a"])
    }

    @Test func captureTemplateRender() {
        let t = CaptureTemplate("{line}-{machine}")
        #expect(t.render(["line": "l1", "machine": "press-7"]) == "l1-press-7")
        #expect(t.render(["line": "l1"]) == "l1-{machine}")
        #expect(t.render([:]) == "{line}-{machine}")
        #expect(CaptureTemplate("fixed").render(["line": "l1"]) == "fixed")
        #expect(CaptureTemplate("{a}{a}").render(["a": "x"]) == "xx")
        #expect(CaptureTemplate("pre_{a}_post").render(["a": "", "b": "y"]) == "pre__post")
    }

    @Test func renderDoesNotReplaceInsideCapturedValues() {
        // A captured value that looks like a placeholder is kept as it is, whatever the dictionary order.
        let t = CaptureTemplate("{a}-{b}")
        for _ in 0..<20 {
            #expect(t.render(["a": "{b}", "b": "x"]) == "{b}-x")
            #expect(t.render(["b": "{a}", "a": "y"]) == "y-{a}")
        }
    }

    @Test func patternAndTemplateTogether() throws {
        let p = try TopicPattern("plant/{line}/{cell}/temp")
        let equipment = CaptureTemplate("{line}.{cell}")
        let captures = try #require(p.match("plant/L2/C7/temp"))
        #expect(equipment.render(captures) == "L2.C7")
        #expect(Set(equipment.placeholders).isSubset(of: Set(p.captureNames)))
    }
}
