import ConfigSupport
import Testing
@testable import EdgeConfig

/// A broker password written into the edge's file works, and is a located warning (check-config
/// prints it, the agent logs it at start); from `password_file` it is not. The shipped demo has none.
@Suite struct InlineSecretTests {
    let yaml = """
        site: plant-a
        edge: gw-1
        brokers:
          plant: { port: 1883, username: millwright-edge, password: inline }
        uplink: { port: 1884, username: plant-a/gw-1, password: inline-too }
        sensors:
          - name: state
            topic: "line/{equipment}/state"
            decode: { format: text }
            rules:
              state: { map: { RUN: running } }
        """

    @Test func anInlinePasswordIsAWarningWithItsPlace() throws {
        let c = try parse(yaml)
        #expect(c.brokers.first?.options.password == "inline")
        #expect(c.warnings.map(\.location) == [Location(4, 61, "brokers.plant.password"), Location(5, 57, "uplink.password")])
        #expect(c.warnings.allSatisfy { $0.message.contains("password_file") })
    }

    @Test func theShippedDemoHasNoWarnings() throws {
        #expect(try EdgeConfiguration.load(file: demoConfigPath).warnings.isEmpty)
    }
}
