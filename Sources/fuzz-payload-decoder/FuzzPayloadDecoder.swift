// libFuzzer target: the edge's payload decoding and the rules behind it on arbitrary payloads, the
// way a sensor's bytes reach them (scripts/fuzz builds it with -sanitize=fuzzer).
#if FUZZING
import FuzzSupport
#if canImport(Glibc)
import Glibc
#endif
import EdgeConfig
import MillwrightCore
@testable import EdgeAgent

/// Every rule kind behind a JSON decoder with a sensor time, and plain number and text sensors.
let fuzzConfig: EdgeConfiguration = {
    let yaml = """
        site: fuzz
        edge: fuzz
        data_dir: /tmp/unused
        brokers: { plant: { port: 1883 } }
        ingest: { max_past_age: 3650d, max_future_skew: 3650d }
        sensors:
          - name: json
            topic: "f/{equipment}/json"
            decode: { format: json, value: data.v, time: ts }
            rules:
              limit: { high: 80, high_high: 90, low: 10, hysteresis: 1, on_delay: 1s, off_delay: 1s }
              rate: { limit: 5, window: 10s }
              deadband: { absolute: 1, heartbeat: 1m }
              window: { every: 10s }
              stale: { after: 5s }
          - name: counter
            topic: "f/{equipment}/count"
            decode: { format: number }
            rules: { counter: { bits: 16, every: 5s } }
          - name: state
            topic: "f/{equipment}/state"
            decode: { format: text }
            rules: { state: { map: { RUN: running, IDLE: idle, "3": { state: down, reason: jam } } } }
        """
    do { return try EdgeConfiguration.parse(yaml: yaml) } catch { fatalError("fuzz config: \(error)") }
}()

final class Discard: EventSink {
    func accept(_ output: PipelineOutput) {}
}

let fuzzPipeline = IngestPipeline(config: fuzzConfig, sink: Discard(), idScheme: .sequential(prefix: "f"))

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPayloadDecoder(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    // The first byte picks the sensor, the rest is the payload, received at a time that moves on.
    let topics = ["f/m1/json", "f/m1/count", "f/m1/state", "f/m2/json"]
    let topic = topics[Int(bytes.first ?? 0) % topics.count]
    let payload = Array(bytes.dropFirst())
    let at = Timestamp(milliseconds: 1_800_000_000_000 + Int64(size) * 997)
    fuzzPipeline.handle(broker: "plant", topic: topic, payload: payload, receivedAt: at)
    fuzzPipeline.tick(now: at + Millis(60_000))
    return 0
}
@main struct FuzzPayloadDecoderMain {
    static func main() {
        exit(runFuzzer { data, size in fuzzPayloadDecoder(data, size) })
    }
}
#else
@main struct FuzzPayloadDecoderStub {
    static func main() { print("build with scripts/fuzz (libFuzzer, -sanitize=fuzzer)") }
}
#endif
