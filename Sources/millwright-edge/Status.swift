import ArgumentParser
import ConfigSupport
import EdgeAgent
import EdgeConfig
import Foundation
import MillwrightCore

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the running agent's status: brokers, counters, bad input per reason and sensor, quarantine samples.",
        discussion: Status.exitCodes)

    @Option(name: .shortAndLong, help: "The edge configuration file (to find data_dir); default /etc/millwright/edge.yaml or $MILLWRIGHT_EDGE_CONFIG.")
    var config: String?

    static let exitCodes = "Exit status: 0 healthy; 1 the status file is unreadable; 2 no configuration; 3 not running (no status file, or its pid is gone); 4 stale (older than three status intervals, at least 30 s); 5 unhealthy (a broker or the uplink disconnected)."

    @Flag(help: "Print the raw status JSON (the exit status is the same).")
    var json = false

    func run() throws {
        let cfg: EdgeConfiguration
        do { cfg = try EdgeConfiguration.load(file: try edgeConfigPath(config)) } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode(2)
        }
        let path = EdgeStatus.path(dataDir: cfg.dataDir)
        guard let data = FileManager.default.contents(atPath: path) else {
            FileHandle.standardError.write(Data("no status at \(path): the agent is not running with this configuration (or never ran)\n".utf8))
            throw ExitCode(StatusCondition.notRunning.rawValue)
        }
        let s: EdgeStatus
        do { s = try JSONDecoder().decode(EdgeStatus.self, from: data) } catch {
            FileHandle.standardError.write(Data("unreadable status at \(path): \(error)\n".utf8))
            throw ExitCode(1)
        }
        let now = Timestamp.now()
        let findings = EdgeHealth.findings(s, now: now, staleAfterSeconds: EdgeHealth.staleAfter(statusInterval: cfg.ingest.statusInterval),
                                           pidAlive: EdgeHealth.processAlive(s.pid))
        let code = StatusFinding.exitCode(findings)
        if json {
            print(String(decoding: data, as: UTF8.self))
            if code != 0 { throw ExitCode(code) }
            return
        }
        let age = (now - s.updatedAt).seconds
        var out = """
            edge \(s.site)/\(s.edge)  agent \(s.agentVersion)  config \(s.configVersion)  pid \(s.pid)  boot_epoch \(s.bootEpoch)
            status updated \(String(format: "%.1f", age))s ago

            """
        for b in s.brokers { out += "broker \(b.name) \(b.host): \(b.connected ? "connected" : "DISCONNECTED") (connects: \(b.connects))\n" }
        let p = s.pipeline
        out += """
            messages_received \(p.messagesReceived)  messages_processed \(p.messagesProcessed)  messages_rejected \(p.messagesRejected)
            events_promoted \(p.eventsPromoted)  events_committed \(s.eventsCommitted)  instances \(p.instances)  store_errors \(s.storeErrors)

            """
        let o = s.outbox
        out += "ingest \(String(format: "%.0f", s.rates.ingestPerSecond)) msg/s  promote \(String(format: "%.1f", s.rates.promotePerSecond)) events/s\n"
        out += "outbox backlog_events \(o.backlogEvents)  backlog_bytes \(o.backlogBytes)"
        if let age = o.oldestUnacknowledgedAgeSeconds { out += "  oldest_unacknowledged_age \(String(format: "%.1f", age))s" }
        if let eta = o.drainETASeconds { out += "  drain_eta \(String(format: "%.0f", eta))s" }
        out += "\n"
        for d in o.drops { out += "  dropped (\(d.reason)) \(d.priorityClass.rawValue): \(d.count)\n" }
        if let u = s.uplink {
            let replicas = u.centralReplicasOnline.map { $0 > 0 ? " (\($0) replica\($0 == 1 ? "" : "s") online)" : "" } ?? ""
            out += "uplink \(u.connected ? "connected" : "DISCONNECTED"), central \(u.centralOnline ? "online" : "OFFLINE (holding backlog)")\(replicas): "
                + "sent \(u.eventsSent) in \(u.batchesSent) batches, acknowledged \(u.eventsAcknowledged), in flight \(u.inflightBatches) of a window of \(u.windowBatches.map(String.init) ?? "?") batches, "
                + "historical \(u.historicalSent), resends \(u.resends)"
                + ((u.resentOnReplicaLoss ?? 0) > 0 ? ", resent at once on a replica's loss \(u.resentOnReplicaLoss ?? 0)" : "") + "\n"
            let w = u.windowChanges ?? WindowChanges()
            out += "  window changes: grown \(w.grown), shrunk for latency \(w.shrunkForLatency), halved on timeout \(w.halvedOnTimeout)"
                + (u.ackLatencyMs.map { "; ack latency \(String(format: "%.0f", $0)) ms" } ?? "") + "\n"
            if let ignored = u.acksIgnored, !ignored.isEmpty {
                // Forged, replayed from an earlier run, repeated, or out of range: each deleted nothing.
                out += "  acks ignored (deleted nothing): " + ignored.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + "\n"
            }
        } else {
            out += "uplink: not configured (events stay in the local outbox)\n"
        }
        if let r = s.lastReload { out += "last reload \(r.at.rfc3339): \(r.accepted ? "accepted" : "REJECTED") \(r.message)\n" }
        if !p.quarantined.isEmpty {
            out += "bad input (reason, sensor, count):\n"
            for q in p.quarantined { out += "  \(q.reason.rawValue.padding(toLength: 18, withPad: " ", startingAt: 0)) \(q.sensor): \(q.count)\n" }
        }
        if !s.recentQuarantine.isEmpty {
            out += "recent quarantine samples:\n"
            for q in s.recentQuarantine.suffix(5) {
                out += "  \(q.at.rfc3339) \(q.reason.rawValue) \(q.topic): \(q.detail)\n    payload: \(q.payload.prefix(120))\n"
            }
        }
        out += StatusFinding.line(findings) + "\n"
        print(out, terminator: "")
        if code != 0 { throw ExitCode(code) }
    }
}
