import HSDBCore
import Index

/// How a search trades speed for recall. The defaults reach recall@10 above 0.95 on real
/// embeddings (DESIGN.md, "Search").
public struct SearchParameters: Sendable, Equatable {
    /// Beam width of the graph search; nil: max(64, limit).
    public var ef: Int?
    /// Compare the query with every point exactly instead of using the graphs.
    public var exact: Bool
    /// Rank by the binary codes, gathering the `limit x binaryOversampling` nearest by the
    /// codes' estimator over all layers, which are then rescored exactly (scanned layers first
    /// take 4x that many by Hamming distance). 0: no codes: graphs are walked with exact
    /// distances (reading the full vectors at every hop). nil: automatic: x4 for vectors of 256
    /// dimensions or more (enough bits for the codes to rank well; measured on 384-dim
    /// embeddings: recall@10 0.963-0.968 on every layout, DESIGN.md "Search"), exact below.
    public var binaryOversampling: Int?

    public init(ef: Int? = nil, exact: Bool = false, binaryOversampling: Int? = nil) {
        self.ef = ef
        self.exact = exact
        self.binaryOversampling = binaryOversampling
    }
}

extension Collection {
    /// Below this cost (points scanned) in each half, the layers are searched one after another.
    static let parallelSearchPoints = 100_000

    /// The `limit` nearest live points to `vector` by the collection's metric, over every layer
    /// of one snapshot (memtables and segments, DESIGN.md "Search"). Scores: similarity for
    /// cosine and dot (descending), distance for euclidean (ascending). `scoreThreshold` drops
    /// hits worse than it.
    /// `lane`: which dense vector (0: the first; k: `config.namedVectors[k - 1]`, see
    /// `denseLane(named:)`); its own metric scores it.
    public func search(
        _ vector: [Float], lane: Int = 0, limit: Int = 10, projection: Projection = .payloadOnly, scoreThreshold: Float? = nil,
        filter: Filter? = nil, parameters: SearchParameters = SearchParameters()
    ) throws -> [ScoredPoint] {
        guard (0...config.namedVectors.count).contains(lane) else { throw HSDBError.invalidArgument("no dense vector lane \(lane)") }
        if config.isMultivector(lane) {
            return try multivectorSearch(
                vector, lane: lane, limit: limit, projection: projection, scoreThreshold: scoreThreshold, filter: filter.map(resolved),
                parameters: parameters)
        }
        let (dimension, metric) = config.dense(lane)
        guard limit >= 1 else { throw HSDBError.invalidArgument("search limit must be at least 1, got \(limit)") }
        let filter = filter.map(resolved)
        if let ef = parameters.ef, ef < 1 { throw HSDBError.invalidArgument("ef must be at least 1, got \(ef)") }
        if let os = parameters.binaryOversampling, os < 0 { throw HSDBError.invalidArgument("oversampling must not be negative, got \(os)") }
        var chosen = parameters
        if chosen.binaryOversampling == nil { chosen.binaryOversampling = dimension >= 256 ? 4 : 0 }
        try Validation.checkVector(vector, dimension: dimension, context: "query")
        let query = metric == .cosine ? Distance.normalized(vector) : vector
        let concurrentSearches = activeSearches.wrappingAdd(1, ordering: .relaxed).newValue
        defer { activeSearches.wrappingSubtract(1, ordering: .relaxed) }
        let s = snapshot
        let layers = try searchLayers(s, filter: filter, lane: lane)
        let search = DenseSearch(
            query: query, metric: metric, limit: limit, parameters: chosen, lsn: s.lsn, options: options, visited: visitedPool)
        // Layers are searched on two cores when there is enough work to pay for the hop and no
        // other search is running (concurrent searches already keep the cores busy; a fan-out
        // per search would only add hand-offs, measured in the HTTP benchmark).
        let split = options.parallelSegmentSearch && layers.count > 1 && concurrentSearches == 1
            ? search.split(layers, minimum: Self.parallelSearchPoints) : nil
        let hits = split.map { search.runInParallel(layers, split: $0) } ?? search.run(layers, range: layers.indices)
        // A lane's segment hits are read back through their segment's own handle.
        let owners = lane == 0 ? [:] : Dictionary(uniqueKeysWithValues: s.segments.map { (ObjectIdentifier($0.lane(lane)), $0) })
        var results: [ScoredPoint] = []
        for hit in hits {
            let score = metric.score(fromDistance: hit.score)
            if let t = scoreThreshold, metric.higherIsBetter ? score < t : score > t { continue }
            var found = hit.item
            if case .segment(let h, let o) = found, let owner = owners[ObjectIdentifier(h)] { found = .segment(owner, o) }
            results.append(try scored(found, score: score, projection))
        }
        return results
    }

    /// The lane of the dense vector `name`: 0 for nil or the first dense vector's name (the
    /// HTTP API's `vector_name` attribute, "" without it), k for `config.namedVectors[k - 1]`.
    public func denseLane(named name: String?) throws -> Int {
        guard let name else { return 0 }
        if let l = config.lane(of: name) { return l }
        if case .string(let first)? = config.attributes["vector_name"], first == name { return 0 }
        if name.isEmpty && config.attributes["vector_name"] == nil { return 0 }
        throw HSDBError.invalidArgument("the collection has no dense vector named '\(name)'")
    }

    /// The snapshot's layers for a search of lane `lane`, newest first: the active memtable,
    /// the frozen ones, the segments (with a filter, each segment's matching live points found
    /// first).
    func searchLayers(_ s: Snapshot, filter: Filter?, lane: Int = 0) throws -> [SearchLayer] {
        var layers: [SearchLayer] = [.memtable(MemtableLayer(
            points: s.active, rows: s.activeRows.lane(lane), lsn: s.lsn, filter: filter, requiresVector: true))]
        for f in s.frozen {
            layers.append(.memtable(MemtableLayer(points: f.points, rows: f.rows.lane(lane), lsn: s.lsn, filter: filter, requiresVector: true)))
        }
        for owner in s.segments {
            var mask = try filter.map { try matching(owner, $0, lsn: s.lsn) }
            let h = owner.lane(lane)
            if let present = h.presentVectors {  // points without the dense vector are never found
                var words = mask?.words ?? h.liveBitmap(at: s.lsn) ?? present
                for w in words.indices { words[w] &= present[w] }
                mask = OrdinalMask(words: words)
            }
            layers.append(.segment(h, mask: mask))
        }
        precondition(layers.count <= CandidateSet.maxTags, "more layers than a search can tell apart")
        return layers
    }

    func scored(_ found: Snapshot.Found, score: Float, _ projection: Projection) throws -> ScoredPoint {
        let id: PointID
        switch found {
        case .memtable(let memtableID, _): id = memtableID
        case .segment(let handle, let ordinal): id = handle.segment.id(at: ordinal)
        }
        let r = try record(id, found, projection)
        return ScoredPoint(id: id, version: r.version, score: score, vector: r.vector, sparse: r.sparse, payload: r.payload, named: r.named)
    }
}
