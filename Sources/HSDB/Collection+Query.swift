import HSDBCore
import Index

extension Collection {
    /// Runs a query (DESIGN.md, "Search", "Hybrid queries"): nearest neighbours of a vector
    /// (dense or sparse) or of a stored point, optionally re-ranked by maximal marginal
    /// relevance; a recommendation; without a target, points in id order; or, with
    /// prefetches, their results fused or re-scored by the target. Returns `limit` hits after
    /// `offset`, best first. An unknown point id (target or example) is `pointNotFound`.
    public func query(_ q: Query, projection: Projection = .payloadOnly) throws -> [ScoredPoint] {
        let wanted = q.limit + q.offset
        guard wanted > 0 else { return [] }
        let projection = Projection(withVector: projection.withVector || q.mmr != nil, withPayload: projection.withPayload)
        if !q.prefetch.isEmpty {
            let ranked = try candidates(q, filter: nil)
            let ids = ranked.hits.dropFirst(q.offset)
            var records: [PointID: Record] = [:]
            for r in try get(ids: ids.map(\.id), projection: projection) { records[r.id] = r }
            return ids.compactMap { h in
                records[h.id].map {
                    var p = ScoredPoint(
                        id: h.id, version: $0.version, score: h.score, vector: $0.vector, sparse: $0.sparse, payload: $0.payload, named: $0.named)
                    p.orderValue = h.orderValue
                    return p
                }
            }
        }
        var hits = try singleStage(q, limit: q.mmr?.candidates ?? wanted, filter: q.filter, projection: projection)
        if let mmr = q.mmr {
            let lane = try denseLane(q.using) ?? 0
            if config.isMultivector(lane) { throw HSDBError.invalidArgument("`mmr` over a multivector is not supported") }
            hits = MaximalMarginalRelevance.select(
                hits, vector: { [self] in lane == 0 ? $0.vector : $0.named?[config.namedVectors[lane - 1].name] },
                metric: config.dense(lane).metric, diversity: mmr.diversity, count: wanted)
        }
        return Array(hits.prefix(wanted).dropFirst(q.offset))
    }

    /// A query's hits (ids and scores only), best first, `limit + offset` of them: a single
    /// search, or its prefetches' hits fused or re-scored. `outer` is the enclosing queries'
    /// filter, which applies to every prefetch below it (as in Qdrant).
    private func candidates(_ q: Query, filter outer: Filter?) throws -> ScoreFusion.Ranked {
        let filter = [outer, q.filter].compactMap { $0 }.reduce(nil as Filter?) { acc, f in acc.map { Filter(must: [.filter($0), .filter(f)]) } ?? f }
        let wanted = q.limit + q.offset
        let higherIsBetter = try denseLane(q.using).map { config.dense($0).metric.higherIsBetter } ?? true
        guard !q.prefetch.isEmpty else {
            return ScoreFusion.Ranked(hits: try singleStage(q, limit: wanted, filter: filter, projection: .idsOnly), higherIsBetter: higherIsBetter)
        }
        let lists = try q.prefetch.map { try candidates($0, filter: filter) }
        if case .fusion(let fusion) = q.target {
            var fused = ScoreFusion.fuse(lists, fusion)
            if let t = q.scoreThreshold { fused.removeAll { $0.score < t } }
            return ScoreFusion.Ranked(
                hits: fused.prefix(wanted).map { ScoredPoint(id: $0.id, version: 0, score: $0.score, vector: nil, payload: nil) }, higherIsBetter: true)
        }
        if case .formula(let formula) = q.target {
            return ScoreFusion.Ranked(hits: try rescore(lists, by: formula, limit: wanted, threshold: q.scoreThreshold), higherIsBetter: true)
        }
        // A vector (or an order, or a sample) over prefetches: the union of their hits, scored
        // exactly by it.
        let ids = Array(Set(lists.flatMap { $0.hits.map(\.id) }))
        guard !ids.isEmpty else { return ScoreFusion.Ranked(hits: [], higherIsBetter: higherIsBetter) }
        var exact = q
        exact.parameters.exact = true
        let among = Filter(must: [.hasID(ids)] + (filter.map { [.filter($0)] } ?? []))
        let hits = try singleStage(exact, limit: min(wanted, ids.count), filter: among, projection: .idsOnly)
        return ScoreFusion.Ranked(hits: hits, higherIsBetter: higherIsBetter)
    }

    /// One search without prefetches: by the dense vector, a sparse vector, a stored point's
    /// vector (that point left out), a recommendation, or (no target) the first points in id
    /// order.
    private func singleStage(_ q: Query, limit: Int, filter: Filter?, projection: Projection) throws -> [ScoredPoint] {
        var target = q.target
        var exclude: Set<PointID> = []
        let lane = try denseLane(q.using)
        if let lane, let hits = try exampleSearch(
            target, lane: lane, limit: limit, threshold: q.scoreThreshold, filter: filter, projection: projection) {
            return hits
        }
        if case .recommend(let positive, let negative, _) = target {
            let (vector, examples) = try recommendationVector(positive, negative, lane: lane ?? 0)
            target = .vector(vector)
            exclude = examples
        }
        if case .point(let id) = target {
            guard let r = try get(ids: [id], projection: Projection(withVector: true, withPayload: false)).first else {
                throw HSDBError.pointNotFound(id)
            }
            switch q.using {
            case .dense, .named:
                guard let v = denseVector(of: r, lane: lane ?? 0) else {
                    throw HSDBError.invalidArgument("point \(id) has no dense vector to search with")
                }
                target = .vector(v)
            case .sparse(let name):
                guard let v = r.sparse?[name] else { throw HSDBError.invalidArgument("point \(id) has no sparse vector `\(name)` to search with") }
                target = .sparse(v)
            }
            exclude = [id]
        }
        if q.idfCorpus != nil {
            guard case .sparse(let name) = q.using, config.sparseVectors[name]?.modifier == .idf else {
                throw HSDBError.invalidArgument("params.idf applies only to a sparse vector with the `idf` modifier")
            }
        }
        let fetch = limit + exclude.count
        var hits: [ScoredPoint]
        switch (target, q.using) {
        case (.none, _), (.fusion, _):
            let page = try scroll(limit: limit, projection: projection, filter: filter)
            return page.points.map {
                ScoredPoint(
                    id: $0.id, version: $0.version, score: 0, vector: $0.vector, sparse: $0.sparse, payload: $0.payload, named: $0.named)
            }
        case (.vector(let vector), _):
            guard let lane else { throw HSDBError.invalidArgument("a dense query for a sparse vector") }
            try checkDimension(vector, lane: lane)
            hits = try search(vector, lane: lane, limit: fetch, projection: projection, scoreThreshold: q.scoreThreshold, filter: filter, parameters: q.parameters)
        case (.sparse(let v), .sparse(let name)):
            hits = try searchSparse(
                name, v, limit: fetch, projection: projection, scoreThreshold: q.scoreThreshold, filter: filter, idfCorpus: q.idfCorpus)
        case (.orderBy(let order), _):
            return try ordered(by: order, limit: limit, projection: projection, filter: filter).map { r, value in
                var p = ScoredPoint(id: r.id, version: r.version, score: 1, vector: r.vector, sparse: r.sparse, payload: r.payload, named: r.named)
                p.orderValue = value
                return p
            }
        case (.sample, _):
            return try sample(limit, filter: filter, projection: projection)
        case (.formula, _):
            throw HSDBError.invalidArgument("a formula query needs `prefetch` queries to score")
        case (.sparse, .dense), (.sparse, .named), (.point, _), (.recommend, _), (.discover, _), (.context, _):
            throw HSDBError.invalidArgument("a sparse query for the dense vector")
        }
        if !exclude.isEmpty { hits.removeAll { exclude.contains($0.id) } }
        return Array(hits.prefix(limit))
    }

    /// `limit` live points matching `filter`, drawn uniformly at random, in random order
    /// (every matching id is listed once: O(matching points)).
    private func sample(_ limit: Int, filter: Filter?, projection: Projection) throws -> [ScoredPoint] {
        let all = try filter.map { try ids(matching: $0) } ?? ids(matching: Filter())
        var generator = SystemRandomNumberGenerator()
        let chosen = Array(all.shuffled(using: &generator).prefix(limit))
        let records = Dictionary(try get(ids: chosen, projection: projection).map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        return chosen.compactMap { id in
            records[id].map { ScoredPoint(id: id, version: $0.version, score: 1, vector: $0.vector, sparse: $0.sparse, payload: $0.payload, named: $0.named) }
        }
    }

    /// Qdrant's average_vector: avg(positive) + (avg(positive) - avg(negative)), or
    /// avg(positive) without negatives; and the example points, which are left out of the
    /// results. An unknown example id is `pointNotFound`.
    private func recommendationVector(
        _ positive: [Query.Example], _ negative: [Query.Example], lane: Int
    ) throws -> ([Float], Set<PointID>) {
        let pos = try exampleVectors(positive, lane: lane, asStored: false)
        let negs = try exampleVectors(negative, lane: lane, asStored: false)
        let dimension = config.dense(lane).dimension
        let ids = Set(pos.compactMap(\.id) + negs.compactMap(\.id))
        if config.isMultivector(lane) {  // as Qdrant: the positives' vectors, and the negatives' negated
            guard !pos.isEmpty else { throw HSDBError.invalidArgument("Positive vectors should not be empty with `average` strategy") }
            return (pos.flatMap(\.vector) + negs.flatMap { $0.vector.map { -$0 } }, ids)
        }
        func average(_ vs: [[Float]]) -> [Float] {
            var sum = [Float](repeating: 0, count: dimension)
            for v in vs { for i in sum.indices { sum[i] += v[i] } }
            return sum.map { $0 / Float(vs.count) }
        }
        let p = average(pos.map(\.vector))
        guard !negs.isEmpty else { return (p, ids) }
        let n = average(negs.map(\.vector))
        return (zip(p, n).map { p, n in p + (p - n) }, ids)
    }

    /// The examples' vectors, with the ids of stored ones; `asStored`: vectors given are
    /// normalised for cosine, as stored ones are.
    func exampleVectors(_ examples: [Query.Example], lane: Int = 0, asStored: Bool) throws -> [(vector: [Float], id: PointID?)] {
        try examples.map { e in
            switch e {
            case .vector(let v):
                try checkDimension(v, lane: lane)
                return (asStored && config.dense(lane).metric == .cosine ? Distance.normalized(v) : v, nil)
            case .point(let id):
                guard let r = try get(ids: [id], projection: Projection(withVector: true, withPayload: false)).first else {
                    throw HSDBError.pointNotFound(id)
                }
                guard let v = denseVector(of: r, lane: lane) else {
                    throw HSDBError.invalidArgument("point \(id) has no dense vector to recommend with")
                }
                return (v, id)
            }
        }
    }

    /// The lane `using` names (nil: a sparse vector).
    func denseLane(_ using: Query.Using) throws -> Int? {
        switch using {
        case .dense: return 0
        case .named(let name): return try denseLane(named: name)
        case .sparse: return nil
        }
    }

    /// A record's (read with its vectors) vector of lane `lane`.
    func denseVector(of r: Record, lane: Int) -> [Float]? {
        lane == 0 ? r.vector : r.named?[config.namedVectors[lane - 1].name]
    }

    /// Qdrant's text for a query vector of the wrong size.
    private func checkDimension(_ vector: [Float], lane: Int = 0) throws {
        let dimension = config.dense(lane).dimension
        let whole = config.isMultivector(lane) ? !vector.isEmpty && vector.count % dimension == 0 : vector.count == dimension
        guard whole else {
            throw HSDBError.invalidArgument("Vector dimension error: expected dim: \(dimension), got \(vector.count)")
        }
    }
}
