import HashTreeCollections

/// A point as a memtable holds it: the version (LSN) of its latest write, and its contents,
/// or a tombstone when that write deleted it.
struct StoredPoint: Sendable {
    let version: UInt64
    /// nil: a tombstone (the point was deleted at `version`).
    let vector: VectorRef?
    let sparse: [String: SparseVector]
    let payload: Payload

    var isTombstone: Bool { vector == nil }
}

/// The writes since the last flush, as a persistent hash tree: copying it is O(1) and later
/// writes copy only the paths they change, so a reader takes a snapshot under the lock and
/// reads it without blocking writers.
///
/// Invariant: operations are applied in LSN order (the WAL's commit order), so the entry for
/// an id is always its highest-LSN write, and a snapshot is the state after whole batches.
/// Deletes leave tombstones: older versions may live in frozen memtables or segments below.
struct Memtable: ~Copyable {
    private(set) var points = TreeDictionary<PointID, StoredPoint>()
    /// WAL body bytes applied: the flush threshold's measure of size.
    private(set) var bytes = 0
    private(set) var lastLSN: UInt64 = 0
    private var vectors: VectorArena

    init(dimension: Int) { vectors = VectorArena(dimension: dimension) }

    var isEmpty: Bool { points.isEmpty }

    mutating func apply(_ operation: Operation, lsn: UInt64, recordBytes: Int) {
        precondition(lsn > lastLSN, "operations must be applied in LSN order")
        switch operation {
        case .upsert(let batch):
            for p in batch {
                let vector = p.vector.withUnsafeBufferPointer { vectors.append($0) }
                points[p.id] = StoredPoint(version: lsn, vector: vector, sparse: p.sparse, payload: p.payload)
            }
        case .delete(let ids):
            for id in ids { points[id] = StoredPoint(version: lsn, vector: nil, sparse: [:], payload: [:]) }
        }
        bytes += recordBytes
        lastLSN = lsn
    }
}

/// A memtable that stopped taking writes and is being (or waits to be) written to a segment.
/// Readers still search it until the segment replaces it.
final class FrozenMemtable: Sendable {
    let points: TreeDictionary<PointID, StoredPoint>
    /// Every write up to this LSN is in this memtable or below it.
    let lastLSN: UInt64
    /// WAL body bytes it took (for the write stall's bound on unflushed data).
    let bytes: Int

    init(points: TreeDictionary<PointID, StoredPoint>, lastLSN: UInt64, bytes: Int) {
        self.points = points
        self.lastLSN = lastLSN
        self.bytes = bytes
    }
}
