import HashTreeCollections
import HSDBCore

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
    /// Writers waiting for flushes to bring unflushed data under the stall limit.
    var stalledWriters: [CheckedContinuation<Void, Never>] = []

    /// Bytes of writes not yet in segments: the active and the frozen memtables.
    var unflushedBytes: Int { active.bytes + frozen.reduce(0) { $0 + $1.bytes } }

    init(dimension: Int, manifest: Manifest, segments: [SegmentHandle]) {
        self.dimension = dimension
        self.manifest = manifest
        self.segments = segments
        active = Memtable(dimension: dimension)
        appliedLSN = manifest.flushedLSN
    }

    /// Applies a committed write: to the memtable, and as shadows on every segment holding one
    /// of its ids.
    mutating func apply(_ operation: Operation, lsn: UInt64, recordBytes: Int) {
        active.apply(operation, lsn: lsn, recordBytes: recordBytes)
        if !segments.isEmpty {
            switch operation {
            case .upsert(let points): for p in points { for s in segments { s.shadow(id: p.id, at: lsn) } }
            case .delete(let ids): for id in ids { for s in segments { s.shadow(id: id, at: lsn) } }
            }
        }
        appliedLSN = lsn
    }

    func snapshot() -> Snapshot {
        Snapshot(lsn: appliedLSN, active: active.points, frozen: frozen, segments: segments)
    }
}

/// A consistent view of a collection at one LSN: O(1) to take, safe to read without a lock.
struct Snapshot: Sendable {
    let lsn: UInt64
    let active: TreeDictionary<PointID, StoredPoint>
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
