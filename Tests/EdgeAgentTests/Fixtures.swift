import EdgeConfig
import Foundation
import MillwrightCore
import TestSupport
@testable import EdgeAgent

/// A small plant config: temperature limits, a 16-bit counter, a state map.
func plantYAML(port: Int = 1883, dataDir: String = "/tmp/unused", high: Double = 80, extraIngest: String = "") -> String {
    """
    site: test-plant
    edge: gw-test
    data_dir: \(dataDir)
    brokers:
      plant: { host: 127.0.0.1, port: \(port), protocol: "5", client_id: test-edge }
    ingest:
      max_payload_bytes: 512
      max_future_skew: 1m
      max_past_age: 1d
      quarantine_keep: 5
      tick_interval: 100ms
      checkpoint_interval: 200ms
      status_interval: 200ms
      watch_interval: 0s
    \(extraIngest)
    sensors:
      - name: temp
        topic: "plant/{equipment}/temp"
        signal: temperature
        decode: { format: json, value: v, time: ts }
        rules:
          limit: { high: \(high), hysteresis: 2 }
          stale: { after: 2s }
      - name: parts
        topic: "plant/{equipment}/parts"
        decode: { format: number }
        rules:
          counter: { bits: 16, every: 1s }
      - name: state
        topic: "plant/{equipment}/state"
        decode: { format: text }
        rules:
          state:
            map: { RUN: running, IDLE: idle, FAULT: { state: down, reason: fault } }
    """
}

func config(_ yaml: String) throws -> EdgeConfiguration {
    try EdgeConfiguration.parse(yaml: yaml)
}

extension IngestPipeline {
    func feed(_ topic: String, _ payload: String, at ms: Int64) {
        handle(broker: "plant", topic: topic, payload: Array(payload.utf8), receivedAt: Timestamp(milliseconds: ms))
    }
}

