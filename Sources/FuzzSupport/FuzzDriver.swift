/// Runs libFuzzer from a Swift `@main`. SwiftPM renames an executable's entry point (so tests can
/// link executables), which leaves libFuzzer's own `main` unused; the targets therefore start the
/// fuzzer themselves through `LLVMFuzzerRunDriver` (exported by libFuzzer since LLVM 13).
///
/// Only meaningful in a build with `-sanitize=fuzzer -DFUZZING` (scripts/fuzz).
#if FUZZING
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

/// Hands the process's arguments to libFuzzer with `callback` as the target; returns its exit code.
public func runFuzzer(_ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt {
    var argc = CommandLine.argc
    var argv = CommandLine.unsafeArgv
    return LLVMFuzzerRunDriver(&argc, &argv, callback)
}
#endif
