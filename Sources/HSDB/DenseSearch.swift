import Dispatch
import HSDBCore
import Index
import Synchronization

/// One dense search over the layers of a snapshot. Each layer contributes in one of three
/// ways, chosen by its size and the search's parameters:
/// - exact: every live (matching) point scored exactly, into the top `limit`;
/// - code scan: every live (matching) code ranked by Hamming distance to the query's code
///   (the native kernel) into one Hamming candidate set shared by the scanned layers
///   (`cascade x limit x oversampling` entries), which the asymmetric estimator then re-ranks;
/// - graph: a segment's HNSW graph walked by the estimator (its `limit x oversampling`
///   nearest join the estimated candidates) or by exact distance (into the top `limit`).
/// Then the `limit x oversampling` candidates of the whole collection nearest by estimate
/// are rescored exactly in one pass. A collection of many layers rescores no more than one of
/// a single layer, and each scan starts from the distance the earlier layers already need.
struct DenseSearch {
    typealias Hit = (score: Float, item: Snapshot.Found)
    /// A point of a layer while the search runs: plain integers, so keeping the best ones
    /// costs no reference counting (resolved to `Snapshot.Found` only for the results).
    struct LayerPoint: Sendable {
        var tag: Int32
        var ordinal: Int32
        init(_ tag: Int, _ ordinal: Int) {
            self.tag = Int32(tag)
            self.ordinal = Int32(truncatingIfNeeded: ordinal)
        }
    }
    typealias Top = TopK<LayerPoint>

    /// Hamming candidates of the scans per candidate rescored: the Hamming ranking is
    /// coarse, the estimator's much finer (measured: DESIGN.md, "Search").
    static let cascade = 4

    let query: [Float]
    let metric: Metric
    let limit: Int
    /// With `binaryOversampling` resolved (not nil).
    let parameters: SearchParameters
    let lsn: UInt64
    let options: DatabaseOptions
    let visited: VisitedPool

    var oversampling: Int { parameters.binaryOversampling ?? 0 }
    /// Whether layers rank by their codes before rescoring.
    var usesCodes: Bool { oversampling > 0 && !parameters.exact }
    /// Candidates rescored exactly, over all layers.
    var candidateCount: Int { usesCodes ? limit * oversampling : 0 }
    /// Candidates the code scans gather by Hamming distance, for the estimator to re-rank.
    var hammingCount: Int { candidateCount * Self.cascade }
    var ef: Int { max(parameters.ef ?? 64, limit) }

    /// A candidate ranked by the estimator: its layer (tag) and ordinal there.
    struct Estimated: Sendable {
        var distance: Float
        var tag: Int
        var ordinal: Int
    }

    /// What the layers of a range found: exact hits, and estimated candidates to rescore.
    struct Gathered {
        var hits: [(score: Float, item: LayerPoint)]
        var candidates: [Estimated]
    }

    /// The `limit` nearest hits over every layer, nearest first.
    func run(_ layers: [SearchLayer], range: Range<Int>) -> [Hit] {
        finish([gather(layers, range)], layers)
    }

    /// The point where the layers split into two halves of about equal cost, if each half
    /// costs at least `minimum` (below that the hand-off to a second core costs more than it
    /// saves).
    func split(_ layers: [SearchLayer], minimum: Int) -> Int? {
        let costs = layers.map { $0.cost(graphAbove: options.codeScanPoints) }
        let total = costs.reduce(0, +)
        var split = 0, seen = 0
        while split < layers.count - 1 && seen + costs[split] <= total / 2 {
            seen += costs[split]
            split += 1
        }
        if split == 0 {
            seen = costs[0]
            split = 1
        }
        return min(seen, total - seen) >= minimum ? split : nil
    }

    /// As `run`, the layers split at `split` into two halves searched on two cores.
    func runInParallel(_ layers: [SearchLayer], split: Int) -> [Hit] {
        let halves = [0..<split, split..<layers.count]
        let results = Mutex<[Gathered?]>([nil, nil])
        DispatchQueue.concurrentPerform(iterations: 2) { i in
            let found = gather(layers, halves[i])
            results.withLock { $0[i] = found }
        }
        return finish(results.withLock { $0.compactMap { $0 } }, layers)
    }

    private func gather(_ layers: [SearchLayer], _ range: Range<Int>) -> Gathered {
        var top = Top(k: limit, higherIsBetter: false)
        var scanned = CandidateSet(capacity: hammingCount)
        var estimated: [Estimated] = []
        var encodings = QueryCodes(query, metric: metric)
        query.withUnsafeBufferPointer { q in
            for tag in range {
                switch layers[tag] {
                case .memtable(let m): search(m, tag: tag, q.baseAddress!, &encodings, &top, &scanned)
                case .segment(let h, let mask):
                    search(h, mask: mask, tag: tag, q.baseAddress!, &encodings, &top, &scanned, &estimated)
                }
            }
        }
        estimated += reranked(scanned.drain(), layers, &encodings)
        return Gathered(hits: top.sorted(), candidates: nearest(estimated))
    }

    /// The Hamming candidates of the scans, estimated.
    private func reranked(_ entries: [CandidateSet.Entry], _ layers: [SearchLayer], _ encodings: inout QueryCodes) -> [Estimated] {
        var out: [Estimated] = []
        out.reserveCapacity(entries.count)
        for (tag, ordinals) in Self.byLayer(entries.map { ($0.tag, $0.ordinal) }, layers: layers.count).enumerated() where !ordinals.isEmpty {
            switch layers[tag] {
            case .memtable(let m):
                guard let quantizer = m.rows.quantizer else { continue }
                let estimator = encodings.estimator(for: quantizer)
                for row in ordinals {
                    let (chunk, slot) = m.rows.locate(row)
                    out.append(Estimated(distance: estimator.distance(chunk.record(slot)), tag: tag, ordinal: row))
                }
            case .segment(let h, _):
                let estimator = encodings.estimator(for: h.quantizer)
                let nodes = ordinals.map { UInt32($0) }
                for (node, d) in zip(nodes, estimator.distances(h.records().records, nodes)) {
                    out.append(Estimated(distance: d, tag: tag, ordinal: Int(node)))
                }
            }
        }
        return out
    }

    /// The `candidateCount` nearest by estimate (ties: lower tag, then ordinal).
    private func nearest(_ candidates: [Estimated]) -> [Estimated] {
        let sorted = candidates.sorted { a, b in
            a.distance != b.distance ? a.distance < b.distance : a.tag != b.tag ? a.tag < b.tag : a.ordinal < b.ordinal
        }
        return Array(sorted.prefix(candidateCount))
    }

    /// The ordinals of `entries` per layer, in the order given (index: the tag).
    private static func byLayer(_ entries: [(tag: Int, ordinal: Int)], layers: Int) -> [[Int]] {
        var out = [[Int]](repeating: [], count: layers)
        for e in entries { out[e.tag].append(e.ordinal) }
        return out
    }

    /// Merges what the ranges found: the nearest candidates of all, rescored exactly.
    private func finish(_ parts: [Gathered], _ layers: [SearchLayer]) -> [Hit] {
        var top = Top(k: limit, higherIsBetter: false)
        for part in parts { for hit in part.hits { top.insert(hit.score, hit.item) } }
        let candidates = parts.count == 1 ? parts[0].candidates : nearest(parts.flatMap(\.candidates))
        query.withUnsafeBufferPointer { rescore(candidates, layers, $0.baseAddress!, into: &top) }
        return top.sorted().compactMap { hit in Self.resolve(hit.item, layers).map { (hit.score, $0) } }
    }

    /// What a search returns for a point of a layer (nil only if the layer no longer knows
    /// the row's id, which a live row always has).
    static func resolve(_ p: LayerPoint, _ layers: [SearchLayer]) -> Snapshot.Found? {
        switch layers[Int(p.tag)] {
        case .memtable(let m):
            let (chunk, slot) = m.rows.locate(Int(p.ordinal))
            return m.found(chunk, slot)
        case .segment(let handle, _):
            return .segment(handle, Int(p.ordinal))
        }
    }

    // MARK: Memtables

    private func search(
        _ m: MemtableLayer, tag: Int, _ q: UnsafePointer<Float>, _ codes: inout QueryCodes, _ top: inout Top,
        _ scanned: inout CandidateSet
    ) {
        guard m.candidates > 0 else { return }
        // Exact when the rows have no codes yet, or are so few that rescoring would score
        // them all anyway.
        guard usesCodes, let quantizer = m.rows.quantizer, m.candidates > 2 * candidateCount else {
            let dimension = query.count
            m.forEachCandidate { chunk, slot in
                let d = metric.distance(q, chunk.vector(slot), count: dimension)
                top.insert(d, LayerPoint(tag, chunk.firstRow + slot))
            }
            return
        }
        codes.code(for: quantizer).withUnsafeBufferPointer { m.scanCodes($0.baseAddress!, tag: tag, into: &scanned) }
    }

    // MARK: Segments

    /// Exact when the query asks for it, a filter leaves few points (scoring them directly
    /// costs less than ranking the segment's codes: an exact distance costs about 30 code
    /// distances), or there are neither codes to rank by nor a graph; a code scan when
    /// ranking by codes and the segment has at most `codeScanPoints` points, no graph, or a
    /// filter that leaves fewer than half its points (a walk through mostly rejected nodes
    /// must visit many more); the graph otherwise, which walks through dead and rejected
    /// points without returning them.
    private func search(
        _ handle: SegmentHandle, mask: OrdinalMask?, tag: Int, _ q: UnsafePointer<Float>, _ codes: inout QueryCodes,
        _ top: inout Top, _ scanned: inout CandidateSet, _ estimated: inout [Estimated]
    ) {
        let fewMatches = mask.map { $0.count <= max(options.filterExactScanPoints, handle.count / 30) } ?? false
        let selective = mask.map { $0.count < handle.count / 2 } ?? false
        let graphLess = !handle.segment.header.hasGraph
        if parameters.exact || fewMatches || (!usesCodes && graphLess) || handle.count <= 2 * candidateCount {
            exactScan(handle, mask: mask, tag: tag, q, into: &top)
        } else if usesCodes && (graphLess || handle.count <= options.codeScanPoints || selective) {
            let code = codes.code(for: handle.quantizer)
            let blocks = handle.blocks()
            let live = mask?.words ?? handle.liveBitmap(at: lsn)
            code.withUnsafeBufferPointer { c in
                guard let live else { return blocks.scan(c.baseAddress!, live: nil, tag: tag, into: &scanned) }
                live.withUnsafeBufferPointer { blocks.scan(c.baseAddress!, live: $0.baseAddress!, tag: tag, into: &scanned) }
            }
        } else if usesCodes {
            let found = visited.with(count: handle.count) { visited in
                handle.segment.withIndex { index in
                    index.graph!.search(
                        codes.estimator(for: handle.quantizer), records: handle.records().records, k: candidateCount,
                        ef: max(ef, candidateCount), accept: mask?.words ?? handle.liveBitmap(at: lsn), visited: &visited)
                }
            }
            for c in found { estimated.append(Estimated(distance: c.distance, tag: tag, ordinal: Int(c.node))) }
        } else if let mask {
            exactGraphSearch(handle, filter: mask, tag: tag, q, into: &top)
        } else {
            exactGraphSearch(handle, filter: LiveOrdinals(handle: handle, lsn: lsn), tag: tag, q, into: &top)
        }
    }

    private func exactScan(_ handle: SegmentHandle, mask: OrdinalMask?, tag: Int, _ q: UnsafePointer<Float>, into top: inout Top) {
        handle.segment.withIndex { index in
            let exact = index.vectors.query(q)
            if let mask {
                mask.forEach { o in top.insert(exact.distance(to: UInt32(o)), LayerPoint(tag, o)) }
            } else {
                for o in 0..<handle.count where handle.isAlive(o, at: lsn) {
                    top.insert(exact.distance(to: UInt32(o)), LayerPoint(tag, o))
                }
            }
        }
    }

    /// The graph walked by exact distance (no codes): its hits go to the top `limit` directly.
    private func exactGraphSearch<F: NodeFilter>(
        _ handle: SegmentHandle, filter: F, tag: Int, _ q: UnsafePointer<Float>, into top: inout Top
    ) {
        handle.segment.withIndex { index in
            guard let graph = index.graph else { return }
            visited.with(count: handle.count) { visited in
                for c in graph.search(index.vectors.query(q), k: limit, ef: ef, filter: filter, visited: &visited) {
                    top.insert(c.distance, LayerPoint(tag, Int(c.node)))
                }
            }
        }
    }

    // MARK: Rescoring

    /// Exact distances of the code-ranked candidates, layer by layer, each layer's vectors
    /// prefetched a few ahead so their fetch from memory overlaps the arithmetic.
    private func rescore(
        _ candidates: [Estimated], _ layers: [SearchLayer], _ q: UnsafePointer<Float>, into top: inout Top
    ) {
        for (tag, ordinals) in Self.byLayer(candidates.map { ($0.tag, $0.ordinal) }, layers: layers.count).enumerated() where !ordinals.isEmpty {
            switch layers[tag] {
            case .memtable(let m):
                let vectors = ordinals.map { row in
                    let (chunk, slot) = m.rows.locate(row)
                    return chunk.vector(slot)
                }
                for (row, d) in zip(ordinals, metric.distances(q, to: vectors, dimension: query.count)) { top.insert(d, LayerPoint(tag, row)) }
            case .segment(let handle, _):
                handle.segment.withIndex { index in
                    let nodes = ordinals.map { UInt32($0) }
                    for (node, d) in zip(nodes, index.vectors.query(q).distances(to: nodes)) { top.insert(d, LayerPoint(tag, Int(node))) }
                }
            }
        }
    }
}

/// Accepts the ordinals of a segment that are live in a snapshot.
struct LiveOrdinals: NodeFilter {
    let handle: SegmentHandle
    let lsn: UInt64
    @inline(__always) func accepts(_ node: UInt32) -> Bool { handle.isAlive(Int(node), at: lsn) }
}

/// Scratch visited-sets for graph searches, reused so each search does not allocate and
/// clear one.
final class VisitedPool: Sendable {
    private let pool = Mutex<[VisitedSet]>([])

    func with<R>(count: Int, _ body: (inout VisitedSet) -> R) -> R {
        var set = pool.withLock { $0.popLast() } ?? VisitedSet(count: count)
        defer { pool.withLock { if $0.count < 8 { $0.append(set) } } }
        return body(&set)
    }
}
