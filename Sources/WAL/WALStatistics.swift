import Synchronization

/// Counters of a WAL writer, for metrics and benchmarks. Monotonic; read at any time.
public final class WALStatistics: Sendable {
    let recordsWritten = Atomic<Int>(0)
    let bytesWritten = Atomic<Int>(0)
    let writes = Atomic<Int>(0)
    let syncs = Atomic<Int>(0)
    let syncNanoseconds = Atomic<Int>(0)

    public init() {}

    public struct Snapshot: Sendable, Equatable {
        public let recordsWritten: Int
        public let bytesWritten: Int
        /// pwrite calls (one per group-commit batch per file).
        public let writes: Int
        public let syncs: Int
        public let syncNanoseconds: Int

        /// Mean records per sync: the group-commit batch size.
        public var recordsPerSync: Double { syncs == 0 ? 0 : Double(recordsWritten) / Double(syncs) }
    }

    public var snapshot: Snapshot {
        Snapshot(
            recordsWritten: recordsWritten.load(ordering: .relaxed), bytesWritten: bytesWritten.load(ordering: .relaxed),
            writes: writes.load(ordering: .relaxed), syncs: syncs.load(ordering: .relaxed),
            syncNanoseconds: syncNanoseconds.load(ordering: .relaxed))
    }
}
