import HashTreeCollections

/// A point as the memtable holds it: its live version and contents.
struct StoredPoint: Sendable {
    let version: UInt64
    let vector: VectorRef
    let payload: Payload
}

/// The points written since the last flush, as a persistent hash tree: copying it is O(1) and
/// later writes copy only the paths they change, so a reader takes a snapshot under the lock
/// and searches it without blocking writers.
///
/// Invariant: operations are applied in LSN order (the WAL's commit order), so the entry for
/// an id is always its highest-LSN write, and a snapshot is the state after one whole batch.
struct Memtable: ~Copyable {
    private(set) var points = TreeDictionary<PointID, StoredPoint>()
    private(set) var appliedLSN: UInt64 = 0
    private var vectors: VectorArena

    init(dimension: Int) { vectors = VectorArena(dimension: dimension) }

    var count: Int { points.count }

    mutating func apply(_ operation: Operation, lsn: UInt64) {
        precondition(lsn > appliedLSN, "operations must be applied in LSN order")
        switch operation {
        case .upsert(let batch):
            for p in batch {
                let vector = p.vector.withUnsafeBufferPointer { vectors.append($0) }
                points[p.id] = StoredPoint(version: lsn, vector: vector, payload: p.payload)
            }
        case .delete(let ids):
            // With no segment under the memtable yet there is no older version to mask, so a
            // delete removes the entry (segments will need tombstones here).
            for id in ids { points[id] = nil }
        }
        appliedLSN = lsn
    }

    /// Records the LSN of a record with no effect on points (so appliedLSN tracks the log).
    mutating func skip(lsn: UInt64) {
        if lsn > appliedLSN { appliedLSN = lsn }
    }
}
