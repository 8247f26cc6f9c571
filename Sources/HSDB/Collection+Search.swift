import Dispatch
import HSDBCore
import Index
import Segments
import Synchronization

/// How a search trades speed for recall. The defaults reach recall@10 above 0.95 on real
/// embeddings (DESIGN.md, "Search").
public struct SearchParameters: Sendable, Equatable {
    /// Beam width of the graph search; nil: max(64, limit).
    public var ef: Int?
    /// Compare the query with every point exactly instead of using the graphs.
    public var exact: Bool
    /// Traverse the graphs by Hamming distance over the binary codes, gathering
    /// `limit x binaryOversampling` candidates that are then rescored exactly. 0: traverse with
    /// exact distances (reads the full vectors at every hop). nil: automatic: x16 for vectors of
    /// 256 dimensions or more (enough bits for the codes to rank well; measured on 384-dim
    /// embeddings: recall@10 0.976 on one 100K segment, 0.99 on two, at the speed of exact
    /// traversal at that recall or better), exact traversal below.
    public var binaryOversampling: Int?

    public init(ef: Int? = nil, exact: Bool = false, binaryOversampling: Int? = nil) {
        self.ef = ef
        self.exact = exact
        self.binaryOversampling = binaryOversampling
    }
}

/// Accepts the ordinals of a segment that are live in a snapshot.
struct LiveOrdinals: NodeFilter {
    let handle: SegmentHandle
    let lsn: UInt64
    @inline(__always) func accepts(_ node: UInt32) -> Bool { handle.isAlive(Int(node), at: lsn) }
}

extension Collection {
    /// Below this many segment points, segments are searched one after another.
    static let parallelSearchPoints = 20_000

    /// The `limit` nearest live points to `vector` by the collection's metric: an exact scan
    /// of the memtables, and in each segment a graph search (or an exact scan of small ones).
    /// Scores: similarity for cosine and dot (descending), distance for euclidean (ascending).
    /// `scoreThreshold` drops hits worse than it.
    public func search(
        _ vector: [Float], limit: Int = 10, projection: Projection = .payloadOnly, scoreThreshold: Float? = nil,
        filter: Filter? = nil, parameters: SearchParameters = SearchParameters()
    ) throws -> [ScoredPoint] {
        guard limit >= 1 else { throw HSDBError.invalidArgument("search limit must be at least 1, got \(limit)") }
        let filter = filter.map { $0.resolvingText(payloadIndexes) }
        if let ef = parameters.ef, ef < 1 { throw HSDBError.invalidArgument("ef must be at least 1, got \(ef)") }
        if let os = parameters.binaryOversampling, os < 0 { throw HSDBError.invalidArgument("oversampling must not be negative, got \(os)") }
        var chosen = parameters
        if chosen.binaryOversampling == nil { chosen.binaryOversampling = config.dimension >= 256 ? 16 : 0 }
        let parameters = chosen
        try Validation.checkVector(vector, dimension: config.dimension, context: "query")
        let query = config.metric == .cosine ? Distance.normalized(vector) : vector
        let concurrentSearches = activeSearches.wrappingAdd(1, ordering: .relaxed).newValue
        defer { activeSearches.wrappingSubtract(1, ordering: .relaxed) }
        let s = snapshot
        // With a filter, each segment's matching live points are found first; how many there
        // are picks the strategy per segment (below).
        let masks: [OrdinalMask]? = try filter.map { f in try s.segments.map { try matching($0, f, lsn: s.lsn) } }
        let metric = config.metric
        let ef = max(parameters.ef ?? 64, limit)
        var top = TopK<Snapshot.Found>(k: limit, higherIsBetter: false)
        query.withUnsafeBufferPointer { q in
            let qp = q.baseAddress!
            s.forEachLiveMemtablePoint { id, p in
                if let filter, !filter.matches(id: id, payload: p.payload) { return }
                let d = p.vector!.withUnsafeBufferPointer { metric.distance(qp, $0.baseAddress!, count: q.count) }
                top.insert(d, .memtable(id, p))
            }
            // Segments are searched in parallel when there is enough work to pay for the hop and
            // no other search is running (concurrent searches already keep the cores busy; a
            // fan-out per search would only add hand-offs, measured in the HTTP benchmark).
            let segmentPoints = s.segments.reduce(0) { $0 + $1.count }
            if options.parallelSegmentSearch && s.segments.count > 1 && segmentPoints >= Self.parallelSearchPoints && concurrentSearches == 1 {
                let partial = Mutex<[(score: Float, item: Snapshot.Found)]>([])
                DispatchQueue.concurrentPerform(iterations: s.segments.count) { i in
                    var local = TopK<Snapshot.Found>(k: limit, higherIsBetter: false)
                    query.withUnsafeBufferPointer { q in
                        searchSegment(
                            s.segments[i], mask: masks?[i], q.baseAddress!, limit: limit, ef: ef, lsn: s.lsn, parameters: parameters, into: &local)
                    }
                    let found = local.sorted()
                    partial.withLock { $0 += found }
                }
                for hit in partial.withLock({ $0 }) { top.insert(hit.score, hit.item) }
            } else {
                for (i, handle) in s.segments.enumerated() {
                    searchSegment(handle, mask: masks?[i], qp, limit: limit, ef: ef, lsn: s.lsn, parameters: parameters, into: &top)
                }
            }
        }
        var results: [ScoredPoint] = []
        for hit in top.sorted() {
            let score = metric.score(fromDistance: hit.score)
            if let t = scoreThreshold, metric.higherIsBetter ? score < t : score > t { continue }
            results.append(try scored(hit.item, score: score, projection))
        }
        return results
    }

    /// Searches one segment: an exact scan of its live (and matching) points when the segment
    /// has no graph, the query asks for exact results, or a filter leaves few points (a graph
    /// walk through mostly rejected nodes costs more than scoring the few directly); when the
    /// search traverses codes and the segment has at most `codeScanPoints` points, a flat scan
    /// of its codes; a graph search otherwise, which walks through dead and rejected points
    /// without returning them.
    private func searchSegment(
        _ handle: SegmentHandle, mask: OrdinalMask?, _ q: UnsafePointer<Float>, limit: Int, ef: Int, lsn: UInt64,
        parameters: SearchParameters, into top: inout TopK<Snapshot.Found>
    ) {
        handle.segment.withIndex { index in
            let exactQuery = index.vectors.query(q)
            let fewMatches = mask.map { $0.count <= max(options.filterExactScanPoints, handle.count / 10) } ?? false
            guard let graph = index.graph, !parameters.exact, !fewMatches else {
                if let mask {
                    mask.forEach { o in top.insert(exactQuery.distance(to: UInt32(o)), .segment(handle, o)) }
                } else {
                    for o in 0..<handle.count where handle.isAlive(o, at: lsn) {
                        top.insert(exactQuery.distance(to: UInt32(o)), .segment(handle, o))
                    }
                }
                return
            }
            if let oversampling = parameters.binaryOversampling, oversampling > 0, handle.count <= options.codeScanPoints {
                codeScan(handle, index, q, k: limit * oversampling, live: mask?.words ?? handle.liveBitmap(at: lsn), into: &top)
                return
            }
            if let mask {
                graphSearch(handle, index, graph, q, limit: limit, ef: ef, parameters: parameters, filter: mask, into: &top)
            } else {
                graphSearch(handle, index, graph, q, limit: limit, ef: ef, parameters: parameters, filter: LiveOrdinals(handle: handle, lsn: lsn), into: &top)
            }
        }
    }

    private func graphSearch<F: NodeFilter>(
        _ handle: SegmentHandle, _ index: SegmentIndex, _ graph: HNSWGraph, _ q: UnsafePointer<Float>, limit: Int, ef: Int,
        parameters: SearchParameters, filter: F, into top: inout TopK<Snapshot.Found>
    ) {
        withVisitedSet(count: handle.count) { visited in
            if let oversampling = parameters.binaryOversampling, oversampling > 0 {
                let code = index.quantizer.encode(Array(UnsafeBufferPointer(start: q, count: config.dimension)))
                let candidates = code.withUnsafeBufferPointer { c in
                    graph.search(index.codes.query(c.baseAddress!), k: limit * oversampling, ef: max(ef, limit * oversampling), filter: filter, visited: &visited)
                }
                rescore(handle, index, q, candidates, into: &top)
            } else {
                for c in graph.search(index.vectors.query(q), k: limit, ef: ef, filter: filter, visited: &visited) {
                    top.insert(c.distance, .segment(handle, Int(c.node)))
                }
            }
        }
    }

    /// The `k` live (and matching) points of a segment nearest by Hamming distance over the
    /// codes, found by the native scan kernel, then rescored exactly. `live`: the ordinals to
    /// consider, nil for all (no point of the segment was ever shadowed).
    private func codeScan(
        _ handle: SegmentHandle, _ index: SegmentIndex, _ q: UnsafePointer<Float>, k: Int, live: [UInt64]?,
        into top: inout TopK<Snapshot.Found>
    ) {
        let code = index.quantizer.encode(Array(UnsafeBufferPointer(start: q, count: config.dimension)))
        let blocks = handle.blocks(index.codes)
        let candidates = code.withUnsafeBufferPointer { c in
            guard let live else { return blocks.nearest(to: c.baseAddress!, k: k) }
            return live.withUnsafeBufferPointer { blocks.nearest(to: c.baseAddress!, k: k, live: $0.baseAddress!) }
        }
        rescore(handle, index, q, candidates, into: &top)
    }

    /// Exact distances of code-ranked candidates, with the next vectors prefetched.
    private func rescore(
        _ handle: SegmentHandle, _ index: SegmentIndex, _ q: UnsafePointer<Float>, _ candidates: [Candidate],
        into top: inout TopK<Snapshot.Found>
    ) {
        let nodes = candidates.map(\.node)
        for (node, distance) in zip(nodes, index.vectors.query(q).distances(to: nodes)) {
            top.insert(distance, .segment(handle, Int(node)))
        }
    }

    func scored(_ found: Snapshot.Found, score: Float, _ projection: Projection) throws -> ScoredPoint {
        let id: PointID
        switch found {
        case .memtable(let memtableID, _): id = memtableID
        case .segment(let handle, let ordinal): id = handle.segment.id(at: ordinal)
        }
        let r = try record(id, found, projection)
        return ScoredPoint(id: id, version: r.version, score: score, vector: r.vector, sparse: r.sparse, payload: r.payload)
    }

    /// Scratch visited-sets, reused across searches so each does not allocate and clear one.
    func withVisitedSet<R>(count: Int, _ body: (inout VisitedSet) -> R) -> R {
        var set = visitedPool.withLock { $0.popLast() } ?? VisitedSet(count: count)
        defer { visitedPool.withLock { if $0.count < 8 { $0.append(set) } } }
        return body(&set)
    }
}
