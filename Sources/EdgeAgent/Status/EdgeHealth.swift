import Foundation
import MillwrightCore

/// Judges an edge's status file for `millwright-edge status`: whether the agent that wrote it is
/// still running, whether the file is fresh, and whether its connections hold. Pure, so the
/// thresholds are tested without a process.
public enum EdgeHealth {
    /// The file is stale when older than three status intervals, and never sooner than 30 s.
    public static func staleAfter(statusInterval: Millis) -> Double {
        max(30, 3 * Double(statusInterval.value) / 1000)
    }

    /// The findings for `status` read at `now`; `pidAlive` tells whether the pid in it still runs.
    public static func findings(_ s: EdgeStatus, now: Timestamp, staleAfterSeconds: Double, pidAlive: Bool) -> [StatusFinding] {
        var out: [StatusFinding] = []
        if !pidAlive {
            out.append(.init(.notRunning, "the agent that wrote the status (pid \(s.pid)) is not running"))
            return out
        }
        let age = (now - s.updatedAt).seconds
        if age > staleAfterSeconds {
            out.append(.init(.stale, String(format: "the status was last written %.0f s ago (more than %.0f s): the agent is hung or starved", age, staleAfterSeconds)))
        }
        for b in s.brokers where !b.connected {
            out.append(.init(.unhealthy, "plant broker \(b.name) (\(b.host)) is disconnected"))
        }
        if let u = s.uplink, !u.connected {
            out.append(.init(.unhealthy, "the uplink to the central broker is disconnected (events wait in the outbox)"))
        }
        return out
    }

    /// Whether a process with this pid runs on this machine (signal 0 probes without sending).
    public static func processAlive(_ pid: Int32) -> Bool {
        guard pid > 0 else { return false }
        return kill(pid, 0) == 0 || errno == EPERM
    }
}
