/// What a collection holds, for `hsdb stats`, metrics and tests.
public struct CollectionStatistics: Sendable, Equatable {
    /// Live points.
    public let points: Int
    public let segments: Int
    /// Points stored in segments, live or not (dead ones go at compaction).
    public let segmentPoints: Int
    public let segmentBytes: Int
    /// Memtables frozen and waiting to be (or being) written to a segment.
    public let frozenMemtables: Int
    /// WAL bytes applied to the active memtable since its last flush.
    public let memtableBytes: Int
    /// WAL bytes in the active and frozen memtables: what the write stall bounds.
    public let unflushedBytes: Int
    public let appliedLSN: UInt64
    /// WAL records up to here are in segments.
    public let flushedLSN: UInt64
    /// Flushes and compactions completed since the collection was opened.
    public let flushes: Int
    public let compactions: Int
    /// Writer waits released by flushes (how often writes outran indexing).
    public let stalledWrites: Int
    /// Filtered reads of a segment that scanned all its payloads, and that used field indexes.
    public let payloadScans: Int
    public let indexedFilters: Int
}

extension Collection {
    public func statistics() -> CollectionStatistics {
        let (s, bytes, unflushed, flushed) = state.withLock { ($0.snapshot(), $0.active.bytes, $0.unflushedBytes, $0.manifest.flushedLSN) }
        return CollectionStatistics(
            points: s.liveCount, segments: s.segments.count, segmentPoints: s.segments.reduce(0) { $0 + $1.count },
            segmentBytes: s.segments.reduce(0) { $0 + $1.segment.bytes }, frozenMemtables: s.frozen.count,
            memtableBytes: bytes, unflushedBytes: unflushed, appliedLSN: s.lsn, flushedLSN: flushed,
            flushes: flushCount.load(ordering: .relaxed), compactions: compactionCount.load(ordering: .relaxed),
            stalledWrites: stallCount.load(ordering: .relaxed), payloadScans: payloadScans.load(ordering: .relaxed),
            indexedFilters: indexedFilters.load(ordering: .relaxed))
    }
}
