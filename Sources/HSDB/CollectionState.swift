import HashTreeCollections
import HSDBCore
import Index

/// Everything a collection's reads resolve against, behind one lock. Layers, newest first:
/// the active memtable, frozen memtables being flushed, then segments. An id's live version is
/// the first one found going down the layers; a tombstone means deleted. Segment points
/// replaced by a newer layer are also marked in their segment's shadow LSNs, so a segment can
/// be searched without asking the layers above it.
struct CollectionState: ~Copyable {
    var active: Memtable
    /// Newest first.
    var frozen: [FrozenMemtable] = []
    /// Newest first.
    var segments: [SegmentHandle] = []
    /// The highest LSN applied: every write up to it is visible.
    var appliedLSN: UInt64
    var manifest: Manifest
    let dimension: Int
    /// The live points' (id, version) leaves as of `appliedLSN` (hashes settled lazily).
    var tree: StateTree
    /// The collection's code quantizer: memtables encode their rows with it and flushes and
    /// merges write their segments' codes with it, so Hamming distances compare across layers.
    /// Set at open from the largest segment, else fitted by the first memtable.
    var codeQuantizer: BinaryQuantizer?
    /// The further dense vectors, and their code quantizers (as `codeQuantizer`).
    let lanes: [NamedVectorConfig]
    var laneQuantizers: [BinaryQuantizer?]
    /// Writers waiting for flushes to bring unflushed data under the stall limit.
    var stalledWriters: [CheckedContinuation<Void, Never>] = []

    /// Bytes of writes not yet in segments: the active and the frozen memtables.
    var unflushedBytes: Int { active.bytes + frozen.reduce(0) { $0 + $1.bytes } }

    init(dimension: Int, manifest: Manifest, segments: [SegmentHandle], lanes: [NamedVectorConfig] = []) {
        self.dimension = dimension
        self.manifest = manifest
        self.segments = segments
        self.lanes = lanes
        let largest = segments.max { $0.count < $1.count }
        codeQuantizer = largest?.quantizer
        laneQuantizers = lanes.indices.map { l in largest.flatMap { l < $0.lanes.count ? $0.lanes[l].quantizer : nil } }
        let rowQuantizers = zip(lanes, laneQuantizers).map { $0.multivector ? nil : $1 }
        active = Memtable(dimension: dimension, quantizer: codeQuantizer, lanes: lanes, laneQuantizers: rowQuantizers)
        appliedLSN = manifest.flushedLSN
        tree = Self.tree(of: segments)
    }

    /// Applies a committed write: to the tree, as shadows on every segment holding one of
    /// its ids, and to the memtable.
    mutating func apply(_ operation: Operation, lsn: UInt64, recordBytes: Int) {
        switch operation {
        case .upsert(let points):
            var seen = points.count > 1 ? Set<PointID>(minimumCapacity: points.count) : nil
            for p in points where seen?.insert(p.id).inserted ?? true {
                if let old = replace(p.id, at: lsn) { tree.remove(p.id, version: old) }
                tree.insert(p.id, version: lsn)
            }
        case .delete(let ids):
            var seen = ids.count > 1 ? Set<PointID>(minimumCapacity: ids.count) : nil
            for id in ids where seen?.insert(id).inserted ?? true {
                if let old = replace(id, at: lsn) { tree.remove(id, version: old) }
            }
        }
        active.apply(operation, lsn: lsn, recordBytes: recordBytes)
        if codeQuantizer == nil { codeQuantizer = active.rows.quantizer }
        if laneQuantizers.contains(where: { $0 == nil }) {
            for l in laneQuantizers.indices where laneQuantizers[l] == nil && !lanes[l].multivector {
                laneQuantizers[l] = active.rows.laneQuantizers[l]
            }
        }
        appliedLSN = lsn
    }

    /// Freezes the active memtable (it is flushed later) and starts a new one.
    mutating func freezeActive() {
        frozen.insert(
            FrozenMemtable(points: active.points, rows: active.rows.view, sparse: active.sparse, lastLSN: appliedLSN, bytes: active.bytes), at: 0)
        active = Memtable(dimension: dimension, quantizer: codeQuantizer, lanes: lanes, laneQuantizers: rowQuantizers)
    }

    /// The quantizers of the memtable's row lanes (a multivector lane's rows hold nothing).
    private var rowQuantizers: [BinaryQuantizer?] { zip(lanes, laneQuantizers).map { $0.multivector ? nil : $1 } }

    /// Shadows `id` in every frozen memtable and segment holding it (the active memtable
    /// shadows its own rows), and returns the version live before the write at `lsn` (nil:
    /// none). Call before the memtable takes the write.
    private func replace(_ id: PointID, at lsn: UInt64) -> UInt64? {
        var live: UInt64?
        var inMemtable = false
        if let p = active.points[id] {
            (live, inMemtable) = (p.isTombstone ? nil : p.version, true)
        }
        for f in frozen {
            guard let p = f.points[id] else { continue }
            if !inMemtable { (live, inMemtable) = (p.isTombstone ? nil : p.version, true) }
            p.row?.shadow(at: lsn)
        }
        for s in segments {
            guard let o = s.segment.ordinal(of: id) else { continue }
            // Newest first: the first unshadowed ordinal is the live one when no memtable has the id.
            if !inMemtable && live == nil && s.shadowedAt(o) == 0 { live = s.segment.version(at: o) }
            s.shadow(o, at: lsn)
        }
        return live
    }

    /// The tree of the segments' live points (at open, before the WAL is replayed).
    static func tree(of segments: [SegmentHandle]) -> StateTree {
        var d = StateTree()
        for s in segments {
            for o in 0..<s.count where s.shadowedAt(o) == 0 { d.insert(s.segment.id(at: o), version: s.segment.version(at: o)) }
        }
        return d
    }

    func snapshot() -> Snapshot {
        Snapshot(
            lsn: appliedLSN, active: active.points, activeRows: active.rows.view, activeSparse: active.sparse, frozen: frozen,
            segments: segments)
    }
}

/// A consistent view of a collection at one LSN: O(1) to take, safe to read without a lock.
struct Snapshot: Sendable {
    let lsn: UInt64
    let active: TreeDictionary<PointID, StoredPoint>
    let activeRows: RowsView
    let activeSparse: [String: MemtablePostings]
    let frozen: [FrozenMemtable]
    let segments: [SegmentHandle]

    /// Whether a layer newer than frozen memtable `index` (-1: the active one) holds `id`.
    @inline(__always)
    func newerLayerHolds(_ id: PointID, aboveFrozen index: Int) -> Bool {
        if index < 0 { return false }
        if active[id] != nil { return true }
        for i in 0..<index where frozen[i].points[id] != nil { return true }
        return false
    }

    /// Live points: live memtable rows (a row is live while no newer write replaced or
    /// deleted its point) and live segment points.
    var liveCount: Int {
        activeRows.liveCount(at: lsn) + frozen.reduce(0) { $0 + $1.rows.liveCount(at: lsn) }
            + segments.reduce(0) { $0 + $1.liveCount(at: lsn) }
    }

    /// Calls `body` for every live memtable point (active and frozen), once per id.
    func forEachLiveMemtablePoint(_ body: (PointID, StoredPoint) throws -> Void) rethrows {
        for (id, p) in active where !p.isTombstone { try body(id, p) }
        for (i, f) in frozen.enumerated() {
            for (id, p) in f.points where !p.isTombstone && !newerLayerHolds(id, aboveFrozen: i) { try body(id, p) }
        }
    }

    enum Found {
        case memtable(PointID, StoredPoint)
        case segment(SegmentHandle, Int)
    }

    /// The live version of `id`, or nil if it does not exist (or was deleted).
    func find(_ id: PointID) -> Found? {
        if let p = active[id] { return p.isTombstone ? nil : .memtable(id, p) }
        for f in frozen {
            if let p = f.points[id] { return p.isTombstone ? nil : .memtable(id, p) }
        }
        for s in segments {
            if let o = s.segment.ordinal(of: id), s.isAlive(o, at: lsn) { return .segment(s, o) }
        }
        return nil
    }
}
