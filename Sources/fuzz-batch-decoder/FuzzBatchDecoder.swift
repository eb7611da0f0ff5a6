// libFuzzer target: the central's batch decoder on arbitrary bytes (scripts/fuzz builds it with
// -sanitize=fuzzer; a plain build gets a stub that says so). Any crash, trap or hang is a finding.
#if FUZZING
import FuzzSupport
#if canImport(Glibc)
import Glibc
#endif
@testable import CentralIngest

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBatchDecoder(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let payload = Array(UnsafeBufferPointer(start: data, count: size))
    switch BatchDecoder.decode(topic: "millwright/v1/plant-a/gw-1/events", payload: payload, maxBytes: 1 << 20) {
    case .success(let batch):
        // Whatever passes must be storable as it is: every event names a positive seq and a known type.
        precondition(batch.events.allSatisfy { $0.seq > 0 && $0.bootEpoch >= 0 && !$0.body.isEmpty })
    case .failure(let refusal):
        precondition(!refusal.reason.isEmpty)
    }
    return 0
}
@main struct FuzzBatchDecoderMain {
    static func main() {
        exit(runFuzzer { data, size in fuzzBatchDecoder(data, size) })
    }
}
#else
@main struct FuzzBatchDecoderStub {
    static func main() { print("build with scripts/fuzz (libFuzzer, -sanitize=fuzzer)") }
}
#endif
