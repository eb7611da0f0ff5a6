// libFuzzer target: the edge and central configuration loaders on arbitrary text (scripts/fuzz
// builds it with -sanitize=fuzzer). A config error is fine; a crash, trap or hang is a finding.
#if FUZZING
import CentralIngest
import CentralSync
import EdgeConfig

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    _ = try? EdgeConfiguration.parse(yaml: text)
    _ = try? CentralConfiguration.parse(yaml: text)
    _ = try? SyncConfiguration.parse(yaml: text)
    return 0
}
#else
@main struct FuzzConfigStub {
    static func main() { print("build with scripts/fuzz (libFuzzer, -sanitize=fuzzer)") }
}
#endif
