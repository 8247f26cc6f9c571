// The libFuzzer driver for every hsdb fuzz target; HSDB_FUZZ_TARGET names the one to run.
// SwiftPM renames an executable's entry point on Linux, so libFuzzer's own main() is never
// used: this main calls libFuzzer's driver itself (see ../shared/notes/swift-recipes.md, 7).
import FuzzTargets

#if canImport(Glibc)
import Glibc
#endif

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

guard let name = getenv("HSDB_FUZZ_TARGET").map({ String(cString: $0) }), FuzzTargets.names.contains(name) else {
    let message = "set HSDB_FUZZ_TARGET to one of: \(FuzzTargets.names.joined(separator: ", "))\n"
    _ = message.withCString { write(2, $0, strlen($0)) }
    exit(2)
}
/// Also exported under libFuzzer's conventional name: the linker pulls libFuzzer's own main
/// object in, which refers to it (that main is never run).
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    // A C callback cannot capture `name`, so it reads the variable again (cheap next to a run).
    FuzzTargets.run(String(cString: getenv("HSDB_FUZZ_TARGET")!), UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

// HSDB_FUZZ_WRITE_SEEDS=DIR: write the target's generated seeds into DIR and exit (run.sh).
if let dir = getenv("HSDB_FUZZ_WRITE_SEEDS").map({ String(cString: $0) }) {
    for (i, seed) in FuzzTargets.generatedSeeds(name).enumerated() {
        let path = dir + "/generated-\(i)"
        guard let f = fopen(path, "wb") else { exit(1) }
        _ = seed.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
        fclose(f)
    }
    exit(0)
}
var argc = CommandLine.argc
var argv = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzOneInput(data, size) })
