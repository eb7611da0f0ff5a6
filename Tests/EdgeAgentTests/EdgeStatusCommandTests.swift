import Foundation
import MillwrightCore
import Testing
import TestSupport
@testable import EdgeAgent

/// `millwright-edge status` exits with a documented code per condition, so a monitor or a script can
/// use it: 0 healthy, 3 not running, 4 stale, 5 unhealthy (docs/OPERATIONS.md, "Status exit codes").
/// Before, it printed STALE and exited 0.
@Suite(.serialized) struct EdgeStatusCommandTests {
    static func status(_ edge: EdgeProcess, _ extra: [String] = []) throws -> (status: Int32, output: String) {
        try Executables.run(EdgeProcess.binary, ["status", "--config", edge.configPath] + extra, withStderr: true)
    }

    @Test func theExitStatusFollowsTheAgent() throws {
        let broker = try MosquittoBroker()
        defer { broker.stop() }
        let edge = try EdgeProcess(broker: broker) { plantYAML(port: $0, dataDir: $1) }
        defer { edge.stop() }
        // Never ran: no status file.
        let never = try Self.status(edge)
        #expect(never.status == StatusCondition.notRunning.rawValue && never.output.contains("no status at"), "\(never.output)")

        try edge.start()
        var running = (status: Int32(-1), output: "")
        #expect(eventually { running = (try? Self.status(edge)) ?? running; return running.status == 0 }, "\(running.output)")
        #expect(running.output.contains("health: OK"), "\(running.output)")
        #expect(try Self.status(edge, ["--json"]).status == 0)

        // Its plant broker gone: unhealthy.
        broker.stop()
        var cut = (status: Int32(-1), output: "")
        #expect(eventually(timeout: 60) { cut = (try? Self.status(edge)) ?? cut; return cut.status == StatusCondition.unhealthy.rawValue }, "\(cut.output)")
        #expect(cut.output.contains("UNHEALTHY: plant broker plant (127.0.0.1:\(broker.port)) is disconnected"), "\(cut.output)")

        // Killed: the status file stays, its pid is gone.
        edge.kill()
        let killed = try Self.status(edge)
        #expect(killed.status == StatusCondition.notRunning.rawValue, "\(killed.output)")
        #expect(killed.output.contains("NOT RUNNING: the agent that wrote the status (pid"), "\(killed.output)")
        #expect(try Self.status(edge, ["--json"]).status == StatusCondition.notRunning.rawValue)

        // A file written long ago by a process that runs (this test): stale.
        let path = EdgeStatus.path(dataDir: edge.dir.appendingPathComponent("data").path)
        var s = try JSONDecoder().decode(EdgeStatus.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        s.pid = getpid()
        s.updatedAt = Timestamp.now() - .seconds(300)
        s.brokers = s.brokers.map { var b = $0; b.connected = true; return b }
        try JSONEncoder().encode(s).write(to: URL(fileURLWithPath: path))
        let stale = try Self.status(edge)
        #expect(stale.status == StatusCondition.stale.rawValue, "\(stale.output)")
        #expect(stale.output.contains("STALE: the status was last written 300 s ago (more than 30 s)"), "\(stale.output)")
    }

    @Test func withoutAConfigurationTheEdgeSaysWhereItLooked() throws {
        try #require(!FileManager.default.fileExists(atPath: "/etc/millwright/edge.yaml"), "this machine has an edge configuration at the default path")
        for args in [["run"], ["status"], ["replay", "/dev/null"]] {
            let r = try Executables.run("/usr/bin/env", ["-u", "MILLWRIGHT_EDGE_CONFIG", EdgeProcess.binary] + args, withStderr: true)
            #expect(r.status == 2, "\(args): \(r.output)")
            #expect(r.output.contains("millwright-edge: no configuration: pass --config FILE; looked for /etc/millwright/edge.yaml"), "\(args): \(r.output)")
        }
    }

    @Test func findingsFollowTheThresholds() throws {
        let now = Timestamp.now()
        var s = try #require(Self.sample(updatedAt: now - .seconds(10)))
        #expect(EdgeHealth.findings(s, now: now, staleAfterSeconds: 30, pidAlive: true) == [])
        #expect(EdgeHealth.findings(s, now: now, staleAfterSeconds: 30, pidAlive: false).map(\.condition) == [.notRunning])
        #expect(EdgeHealth.findings(s, now: now, staleAfterSeconds: 5, pidAlive: true).map(\.condition) == [.stale])
        s.brokers[0].connected = false
        let both = EdgeHealth.findings(s, now: now, staleAfterSeconds: 5, pidAlive: true)
        #expect(both.map(\.condition) == [.stale, .unhealthy])
        #expect(StatusFinding.exitCode(both) == 4)
        #expect(StatusFinding.exitCode([]) == 0)
        #expect(EdgeHealth.staleAfter(statusInterval: .seconds(5)) == 30)
        #expect(EdgeHealth.staleAfter(statusInterval: .seconds(20)) == 60)
    }

    static func sample(updatedAt: Timestamp) -> EdgeStatus? {
        let pipeline = String(decoding: (try? JSONEncoder().encode(PipelineStats())) ?? Data(), as: UTF8.self)
        let json = """
            {"agent_version":"x","config_version":"1","site":"s","edge":"e","pid":1,"started_at":"\(updatedAt.rfc3339)","updated_at":"\(updatedAt.rfc3339)",
             "boot_epoch":1,"brokers":[{"name":"plant","host":"h:1","connected":true,"connects":1,"acknowledged_after_commit":0,"commit_waits":0}],
             "pipeline":\(pipeline), "events_committed":0,"store_errors":0,"recent_quarantine":[],"outbox":{"backlog_events":0,"backlog_bytes":0,"drops":[]},
             "rates":{"ingest_per_s":0,"promote_per_s":0}}
            """
        do { return try JSONDecoder().decode(EdgeStatus.self, from: Data(json.utf8)) } catch { Issue.record("\(error)"); return nil }
    }
}
