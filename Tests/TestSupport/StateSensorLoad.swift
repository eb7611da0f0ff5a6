import Foundation

/// The delivery tests' plant: one state sensor whose every RUN/IDLE toggle is exactly one
/// promoted event, and a publisher of toggles.
///
/// Why shared: the single-central delivery tests and the replica tests must offer the same load
/// to the same edge configuration, so their counts mean the same thing.
public enum StateSensorLoad {
    /// An edge configuration (for `EdgeProcess`) with that sensor, uplinked to `centralPort`.
    /// `uplink` replaces the ack timeout and batch size the delivery tests use.
    /// `plant` adds keys to the plant broker's mapping (", username: ..."); `uplink` is the uplink's keys.
    public static func edgeYAML(edge: String = "gw-1", centralPort: Int, extra: String = "",
                                uplink: String = "ack_timeout: 1s, batch_events: 50", plant: String = "") -> (Int, String) -> String {
        { port, dir in
            """
            site: plant-a
            edge: \(edge)
            data_dir: \(dir)
            brokers:
              plant: { port: \(port), client_id: \(edge)-plant, reconnect: { initial: 100ms, maximum: 1s }\(plant) }
            uplink: { port: \(centralPort), client_id: \(edge)-uplink, \(uplink),
                      status_interval: 500ms, reconnect: { initial: 100ms, maximum: 1s } }
            ingest: { status_interval: 200ms, watch_interval: 0s }
            \(extra)
            sensors:
              - name: state
                topic: "line/{equipment}/state"
                decode: { format: text }
                rules:
                  state: { map: { RUN: running, IDLE: idle } }
            """
        }
    }

    /// Publishes `n` alternating states (QoS 1) on `line/m1/state` in chunks, from a background thread.
    public static func publish(_ n: Int, port: Int, chunk: Int = 100, pause: useconds_t = 30_000) -> Thread {
        let t = Thread {
            var i = 0
            while i < n {
                let lines = (i..<min(n, i + chunk)).map { $0 % 2 == 0 ? "RUN" : "IDLE" }
                _ = try? Executables.run("mosquitto_pub", ["-p", "\(port)", "-t", "line/m1/state", "-q", "1", "-l"],
                                         input: Data((lines.joined(separator: "\n") + "\n").utf8))
                i += chunk
                usleep(pause)
            }
        }
        t.start()
        return t
    }
}
