import HSDB
import HSDBServer

/// The bodies of hsdb's libFuzzer targets. They live in the main package so the test suite
/// replays every committed seed through them (and they never stop compiling); `Fuzz/` holds
/// only the libFuzzer drivers, built with `-sanitize=fuzzer,address`. Each body returns
/// normally for any input, and traps (a finding) when a property it checks is broken.
public enum FuzzTargets {
    public static let names = ["grpc-request", "manifest", "payload-codec", "rest-request", "segment-reader", "wal-recovery"]

    /// Runs the target `name` on one input.
    public static func run(_ name: String, _ data: UnsafeRawBufferPointer) {
        switch name {
        case "manifest": ManifestTarget.run(data)
        case "payload-codec": PayloadCodecTarget.run(data)
        case "wal-recovery": WALRecoveryTarget.run(data)
        case "segment-reader": SegmentReaderTarget.run(data)
        case "rest-request": RequestDecoderFuzzing.run(data)
        case "grpc-request": GRPCRequestFuzzing.run(data)
        default: preconditionFailure("unknown fuzz target \(name); known: \(names.joined(separator: ", "))")
        }
    }

    /// Seeds made at run time by the real writers (formats whose valid files are too big or
    /// too checksummed to commit by hand): the tests replay them, `Fuzz/run.sh` adds them to
    /// the corpus.
    public static func generatedSeeds(_ name: String) -> [[UInt8]] {
        switch name {
        case "segment-reader": SegmentReaderTarget.seeds()
        case "manifest": ManifestFuzzing.seeds()
        case "grpc-request": GRPCRequestFuzzing.seeds()
        default: []
        }
    }
}
