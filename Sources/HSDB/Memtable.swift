import HashTreeCollections
import Index

/// A point as a memtable holds it: the version (LSN) of its latest write, and its contents,
/// or a tombstone when that write deleted it.
struct StoredPoint: Sendable {
    let version: UInt64
    /// The point's row (its dense vector, or the row marked absent when it carries none);
    /// nil: a tombstone (the point was deleted at `version`).
    let row: VectorRef?
    let sparse: [String: SparseVector]
    let payload: Payload
    /// Multivectors by name (a multivector's rows are not in the memtable's row lanes).
    var multivectors: [String: [Float]] = [:]

    var isTombstone: Bool { row == nil }

    /// The further dense vectors and multivectors the point carries, by name.
    var named: [String: [Float]]? { row.map { $0.named.merging(multivectors) { $1 } } }
    /// The dense vector, if the point carries one.
    var vector: [Float]? { row?.dense }

    /// Whether the point carries the first dense vector (nil) or the sparse or further dense
    /// vector named.
    func has(_ vector: String?) -> Bool {
        guard let vector else { return row?.isPresent ?? false }
        return sparse[vector] != nil || multivectors[vector] != nil || (row?.has(lane: vector) ?? false)
    }
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
    /// The upserted points' vectors and codes, in LSN order (searched like a segment).
    private(set) var rows: MemtableRows
    /// Per sparse vector name, the rows holding each index (term).
    private(set) var sparse: [String: MemtablePostings] = [:]

    /// `quantizer`: the collection's, for the rows' codes (nil: fitted from the first rows);
    /// `lanes`: the further dense vectors, with theirs.
    /// Multivector lanes have a row lane too (of one value, always absent), so lanes keep
    /// their numbers; their vectors are kept with the point (`StoredPoint.multivectors`).
    init(dimension: Int, quantizer: BinaryQuantizer?, lanes: [NamedVectorConfig] = [], laneQuantizers: [BinaryQuantizer?] = []) {
        let rowLanes = lanes.map { l in l.multivector ? NamedVectorConfig(name: l.name, dimension: 1) : l }
        rows = MemtableRows(dimension: dimension, quantizer: quantizer, lanes: rowLanes, laneQuantizers: laneQuantizers)
        multivectorNames = Set(lanes.filter(\.multivector).map(\.name))
    }

    private let multivectorNames: Set<String>

    var isEmpty: Bool { points.isEmpty }

    mutating func apply(_ operation: Operation, lsn: UInt64, recordBytes: Int) {
        precondition(lsn > lastLSN, "operations must be applied in LSN order")
        switch operation {
        case .upsert(let batch):
            for p in batch {
                points[p.id]?.row?.shadow(at: lsn)
                let lanes = rows.laneNames.map { multivectorNames.contains($0) ? nil : p.named[$0] }
                let row = p.vector.map { v in v.withUnsafeBufferPointer { rows.append(id: p.id, vector: $0, lanes: lanes) } }
                    ?? rows.append(id: p.id, vector: nil, lanes: lanes)
                for (name, v) in p.sparse { sparse[name, default: MemtablePostings()].append(row: row.row, v) }
                let multivectors = multivectorNames.isEmpty ? [:] : p.named.filter { multivectorNames.contains($0.key) }
                points[p.id] = StoredPoint(version: lsn, row: row, sparse: p.sparse, payload: p.payload, multivectors: multivectors)
            }
        case .delete(let ids):
            for id in ids {
                points[id]?.row?.shadow(at: lsn)
                points[id] = StoredPoint(version: lsn, row: nil, sparse: [:], payload: [:])
            }
        }
        bytes += recordBytes
        lastLSN = lsn
    }
}

/// A memtable that stopped taking writes and is being (or waits to be) written to a segment.
/// Readers still search it until the segment replaces it.
final class FrozenMemtable: Sendable {
    let points: TreeDictionary<PointID, StoredPoint>
    let rows: RowsView
    let sparse: [String: MemtablePostings]
    /// Every write up to this LSN is in this memtable or below it.
    let lastLSN: UInt64
    /// WAL body bytes it took (for the write stall's bound on unflushed data).
    let bytes: Int

    init(points: TreeDictionary<PointID, StoredPoint>, rows: RowsView, sparse: [String: MemtablePostings], lastLSN: UInt64, bytes: Int) {
        self.points = points
        self.rows = rows
        self.sparse = sparse
        self.lastLSN = lastLSN
        self.bytes = bytes
    }
}
