// libFuzzer target: the edge and central configuration loaders on arbitrary text (scripts/fuzz
// builds it with -sanitize=fuzzer). A config error is fine; a crash, trap or hang is a finding.
#if FUZZING
import FuzzSupport
#if canImport(Glibc)
import Glibc
#endif
import CentralIngest
import CentralSync
import EdgeConfig

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    _ = try? EdgeConfiguration.parse(yaml: text)
    _ = try? CentralConfiguration.parse(yaml: text)
    _ = try? SyncConfiguration.parse(yaml: text)
    return 0
}
@main struct FuzzConfigMain {
    static func main() {
        exit(runFuzzer { data, size in fuzzConfig(data, size) })
    }
}
#else
@main struct FuzzConfigStub {
    static func main() { print("build with scripts/fuzz (libFuzzer, -sanitize=fuzzer)") }
}
#endif
