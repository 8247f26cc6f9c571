import HashTreeCollections
import HSDBCore

/// Scrolls: a snapshot's live points in ascending id order, as a merge of one ordered cursor
/// per layer. Shadows leave each id live in at most one layer, so the merge needs no lookups
/// across layers, and a page costs a lower bound per layer plus its own points.
extension Snapshot {
    /// Up to `limit` live points from `offset` (inclusive) in id order, and the id after them.
    /// `filter` judges memtable points; `masks` (one per segment, liveness included) say which
    /// segment ordinals match it.
    func scroll(from offset: PointID?, limit: Int, filter: Filter?, masks: [OrdinalMask]?) -> (page: [(PointID, Found)], next: PointID?) {
        var memtables = [MemtableCursor(points: active, rows: activeRows, lsn: lsn, filter: filter, from: offset)]
        memtables += frozen.map { MemtableCursor(points: $0.points, rows: $0.rows, lsn: lsn, filter: filter, from: offset) }
        var segmentCursors = segments.indices.map { i in
            SegmentCursor(handle: segments[i], lsn: lsn, mask: masks?[i], from: offset)
        }
        var page: [(PointID, Found)] = []
        while true {
            var best: (id: PointID, layer: Int)?  // layer: memtables first, then segments
            for (i, m) in memtables.enumerated() {
                if let head = m.head, best == nil || head.id < best!.id { best = (head.id, i) }
            }
            for (i, s) in segmentCursors.enumerated() {
                if let id = s.headID, best == nil || id < best!.id { best = (id, memtables.count + i) }
            }
            guard let (id, layer) = best else { return (page, nil) }
            guard page.count < limit else { return (page, id) }
            if layer < memtables.count {
                page.append((id, .memtable(id, memtables[layer].head!.point)))
                memtables[layer].advance()
            } else {
                let s = layer - memtables.count
                page.append((id, .segment(segments[s], segmentCursors[s].ordinal)))
                segmentCursors[s].advance()
            }
        }
    }
}

/// One memtable's live points in id order, from a lower bound: a merge of its row order's
/// runs, skipping rows the snapshot does not see or that a write it sees replaced.
struct MemtableCursor {
    private let points: TreeDictionary<PointID, StoredPoint>
    private let rows: RowsView
    private let lsn: UInt64
    private let filter: Filter?
    private let runs: [RowOrder.Run]
    private var positions: [Int]
    private(set) var head: (id: PointID, point: StoredPoint)?

    init(points: TreeDictionary<PointID, StoredPoint>, rows: RowsView, lsn: UInt64, filter: Filter?, from offset: PointID?) {
        self.points = points
        self.rows = rows
        self.lsn = lsn
        self.filter = filter
        runs = rows.count == 0 ? [] : rows.order.runs(covering: rows)
        positions = runs.map { run in offset.map { RowOrder.lowerBound(of: $0, in: run) } ?? 0 }
        advance()
    }

    mutating func advance() {
        head = nil
        while let entry = nextEntry() {
            let row = Int(entry.row)
            guard row < rows.count, rows.isAlive(row, at: lsn), let p = points[entry.id], p.row?.row == row else { continue }
            if let filter, !filter.matches(id: entry.id, payload: p.payload, has: p.has) { continue }
            head = (entry.id, p)
            return
        }
    }

    /// The smallest entry left in any run, taken.
    private mutating func nextEntry() -> RowOrder.Entry? {
        var best = -1
        for r in runs.indices where positions[r] < runs[r].count {
            if best < 0 || RowOrder.precedes(runs[r][positions[r]], runs[best][positions[best]]) { best = r }
        }
        guard best >= 0 else { return nil }
        defer { positions[best] += 1 }
        return runs[best][positions[best]]
    }
}

/// One segment's live (and, with a mask, matching) ordinals from a lower bound; a segment's
/// ordinals are in id order.
struct SegmentCursor {
    private let handle: SegmentHandle
    private let lsn: UInt64
    private let mask: OrdinalMask?
    private(set) var ordinal: Int

    init(handle: SegmentHandle, lsn: UInt64, mask: OrdinalMask?, from offset: PointID?) {
        self.handle = handle
        self.lsn = lsn
        self.mask = mask
        ordinal = offset.map { handle.segment.lowerBound($0) } ?? 0
        skipUnseen()
    }

    var headID: PointID? { ordinal < handle.count ? handle.segment.id(at: ordinal) : nil }

    mutating func advance() {
        ordinal += 1
        skipUnseen()
    }

    private mutating func skipUnseen() {
        while ordinal < handle.count && !(mask?.accepts(UInt32(ordinal)) ?? handle.isAlive(ordinal, at: lsn)) { ordinal += 1 }
    }
}
