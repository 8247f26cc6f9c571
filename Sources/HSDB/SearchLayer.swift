import HashTreeCollections
import HSDBCore
import Index

/// One layer of a snapshot as dense search reads it: a memtable (its rows, and its hash tree
/// for the stored points), or a segment (with its filter mask, if the search has a filter).
/// Layers are numbered newest first; the number is the tag of the layer's candidates.
enum SearchLayer {
    case memtable(MemtableLayer)
    case segment(SegmentHandle, mask: OrdinalMask?)

    /// Points the layer holds (live or not).
    var size: Int {
        switch self {
        case .memtable(let m): return m.rows.count
        case .segment(let h, _): return h.count
        }
    }

    /// The work a search of the layer costs, in points scanned: its size, but a graph walk
    /// costs about a scan of `graphCost` points whatever the segment's size (measured).
    func cost(graphAbove codeScanPoints: Int) -> Int {
        if case .segment(let h, _) = self, h.count > codeScanPoints, h.segment.header.hasGraph { return min(h.count, Self.graphCost) }
        return size
    }

    static let graphCost = 30_000
}

/// A memtable's rows seen at a snapshot's LSN, with the rows a filter keeps.
struct MemtableLayer {
    let points: TreeDictionary<PointID, StoredPoint>
    let rows: RowsView
    let lsn: UInt64
    /// Per chunk, the rows to consider (live, carrying a dense vector, and matching the filter
    /// if there is one): nil for every visible row (none was ever shadowed, none lacks its
    /// vector, no filter).
    let masks: [[UInt64]?]
    /// How many rows the masks keep.
    let candidates: Int

    /// `requiresVector`: keep only rows that carry a dense vector (a dense search's layer; a
    /// sparse search keeps every point).
    init(points: TreeDictionary<PointID, StoredPoint>, rows: RowsView, lsn: UInt64, filter: Filter?, requiresVector: Bool) {
        self.points = points
        self.rows = rows
        self.lsn = lsn
        var masks: [[UInt64]?] = []
        var candidates = 0
        rows.forEachChunk { chunk, visible in
            var live = chunk.shadows.liveBitmap(at: lsn, visible: visible)
            if requiresVector, let absent = chunk.absentWords(visible: visible) {
                var words = live ?? [UInt64](repeating: ~0, count: absent.count)
                for w in words.indices { words[w] &= ~absent[w] }
                live = words
            }
            if let filter {
                var kept = [UInt64](repeating: 0, count: (visible + 63) / 64)
                for slot in 0..<visible where live.map({ $0[slot >> 6] >> UInt64(slot & 63) & 1 == 1 }) ?? true {
                    let id = chunk.ids[slot]
                    guard let p = points[id], filter.matches(id: id, payload: p.payload, has: p.has) else { continue }
                    kept[slot >> 6] |= 1 << UInt64(slot & 63)
                    candidates += 1
                }
                live = kept
            } else {
                candidates += live.map { Self.count($0, visible) } ?? visible
            }
            masks.append(live)
        }
        self.masks = masks
        self.candidates = candidates
    }

    private static func count(_ words: [UInt64], _ visible: Int) -> Int {
        var n = 0
        for (w, word) in words.enumerated() {
            let valid = min(64, visible - w * 64)
            n += (valid == 64 ? word : word & ((1 << UInt64(valid)) - 1)).nonzeroBitCount
        }
        return n
    }

    /// Calls `body` with each row the masks keep: its chunk and slot.
    func forEachCandidate(_ body: (RowChunk, Int) -> Void) {
        var c = 0
        rows.forEachChunk { chunk, visible in
            defer { c += 1 }
            guard let mask = masks[c] else {
                for slot in 0..<visible { body(chunk, slot) }
                return
            }
            for (w, word) in mask.enumerated() where word != 0 {
                var bits = word
                while bits != 0 {
                    let slot = w << 6 | bits.trailingZeroBitCount
                    if slot < visible { body(chunk, slot) }
                    bits &= bits - 1
                }
            }
        }
    }

    /// Offers every kept row's code to `candidates` under `tag` (ordinal: the row).
    func scanCodes(_ query: UnsafePointer<UInt64>, tag: Int, into candidates: inout CandidateSet) {
        var c = 0
        rows.forEachChunk { chunk, visible in
            defer { c += 1 }
            if let mask = masks[c] {
                mask.withUnsafeBufferPointer { chunk.codes.scan(query, count: visible, live: $0.baseAddress!, tag: tag, first: chunk.firstRow, into: &candidates) }
            } else {
                chunk.codes.scan(query, count: visible, live: nil, tag: tag, first: chunk.firstRow, into: &candidates)
            }
        }
    }

    /// What a search returns for `row`, a live row of this layer.
    func found(_ chunk: RowChunk, _ slot: Int) -> Snapshot.Found? {
        let id = chunk.ids[slot]
        return points[id].map { .memtable(id, $0) }
    }
}

/// The query's code and estimator query under each quantizer it meets (layers written before
/// the collection had one quantizer may each have their own), prepared once per search.
struct QueryCodes {
    let query: [Float]
    let metric: Metric
    private var codes: [(BinaryQuantizer, [UInt64])] = []
    private var estimators: [(BinaryQuantizer, EstimatorQuery)] = []

    init(_ query: [Float], metric: Metric) {
        self.query = query
        self.metric = metric
    }

    mutating func code(for quantizer: BinaryQuantizer) -> [UInt64] {
        if let hit = codes.first(where: { $0.0 == quantizer }) { return hit.1 }
        let code = quantizer.encode(query)
        codes.append((quantizer, code))
        return code
    }

    mutating func estimator(for quantizer: BinaryQuantizer) -> EstimatorQuery {
        if let hit = estimators.first(where: { $0.0 == quantizer }) { return hit.1 }
        let made = EstimatorQuery(query, quantizer: quantizer, metric: metric)
        estimators.append((quantizer, made))
        return made
    }
}
