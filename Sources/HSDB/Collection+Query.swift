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
                records[h.id].map { ScoredPoint(id: h.id, version: $0.version, score: h.score, vector: $0.vector, sparse: $0.sparse, payload: $0.payload) }
            }
        }
        var hits = try singleStage(q, limit: q.mmr?.candidates ?? wanted, filter: q.filter, projection: projection)
        if let mmr = q.mmr {
            hits = MaximalMarginalRelevance.select(hits, metric: config.metric, diversity: mmr.diversity, count: wanted)
        }
        return Array(hits.prefix(wanted).dropFirst(q.offset))
    }

    /// A query's hits (ids and scores only), best first, `limit + offset` of them: a single
    /// search, or its prefetches' hits fused or re-scored. `outer` is the enclosing queries'
    /// filter, which applies to every prefetch below it (as in Qdrant).
    private func candidates(_ q: Query, filter outer: Filter?) throws -> ScoreFusion.Ranked {
        let filter = [outer, q.filter].compactMap { $0 }.reduce(nil as Filter?) { acc, f in acc.map { Filter(must: [.filter($0), .filter(f)]) } ?? f }
        let wanted = q.limit + q.offset
        let higherIsBetter = q.using == .dense ? config.metric.higherIsBetter : true
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
        // A vector over prefetches: the union of their hits, scored exactly by it.
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
        if q.using == .dense, let hits = try exampleSearch(target, limit: limit, threshold: q.scoreThreshold, filter: filter, projection: projection) {
            return hits
        }
        if case .recommend(let positive, let negative, _) = target {
            let (vector, examples) = try recommendationVector(positive, negative)
            target = .vector(vector)
            exclude = examples
        }
        if case .point(let id) = target {
            guard let r = try get(ids: [id], projection: Projection(withVector: true, withPayload: false)).first else {
                throw HSDBError.pointNotFound(id)
            }
            switch q.using {
            case .dense:
                guard let v = r.vector else { throw HSDBError.invalidArgument("point \(id) has no dense vector to search with") }
                target = .vector(v)
            case .sparse(let name):
                guard let v = r.sparse?[name] else { throw HSDBError.invalidArgument("point \(id) has no sparse vector `\(name)` to search with") }
                target = .sparse(v)
            }
            exclude = [id]
        }
        let fetch = limit + exclude.count
        var hits: [ScoredPoint]
        switch (target, q.using) {
        case (.none, _), (.fusion, _):
            let page = try scroll(limit: limit, projection: projection, filter: filter)
            return page.points.map {
                ScoredPoint(id: $0.id, version: $0.version, score: 0, vector: $0.vector, sparse: $0.sparse, payload: $0.payload)
            }
        case (.vector(let vector), _):
            try checkDimension(vector)
            hits = try search(vector, limit: fetch, projection: projection, scoreThreshold: q.scoreThreshold, filter: filter, parameters: q.parameters)
        case (.sparse(let v), .sparse(let name)):
            hits = try searchSparse(name, v, limit: fetch, projection: projection, scoreThreshold: q.scoreThreshold, filter: filter)
        case (.sparse, .dense), (.point, _), (.recommend, _), (.discover, _), (.context, _):
            throw HSDBError.invalidArgument("a sparse query for the dense vector")
        }
        if !exclude.isEmpty { hits.removeAll { exclude.contains($0.id) } }
        return Array(hits.prefix(limit))
    }

    /// Qdrant's average_vector: avg(positive) + (avg(positive) - avg(negative)), or
    /// avg(positive) without negatives; and the example points, which are left out of the
    /// results. An unknown example id is `pointNotFound`.
    private func recommendationVector(_ positive: [Query.Example], _ negative: [Query.Example]) throws -> ([Float], Set<PointID>) {
        let pos = try exampleVectors(positive, asStored: false), negs = try exampleVectors(negative, asStored: false)
        func average(_ vs: [[Float]]) -> [Float] {
            var sum = [Float](repeating: 0, count: config.dimension)
            for v in vs { for i in sum.indices { sum[i] += v[i] } }
            return sum.map { $0 / Float(vs.count) }
        }
        let ids = Set(pos.compactMap(\.id) + negs.compactMap(\.id))
        let p = average(pos.map(\.vector))
        guard !negs.isEmpty else { return (p, ids) }
        let n = average(negs.map(\.vector))
        return (zip(p, n).map { p, n in p + (p - n) }, ids)
    }

    /// The examples' vectors, with the ids of stored ones; `asStored`: vectors given are
    /// normalised for cosine, as stored ones are.
    func exampleVectors(_ examples: [Query.Example], asStored: Bool) throws -> [(vector: [Float], id: PointID?)] {
        try examples.map { e in
            switch e {
            case .vector(let v):
                try checkDimension(v)
                return (asStored && config.metric == .cosine ? Distance.normalized(v) : v, nil)
            case .point(let id):
                guard let r = try get(ids: [id], projection: Projection(withVector: true, withPayload: false)).first else {
                    throw HSDBError.pointNotFound(id)
                }
                guard let v = r.vector else { throw HSDBError.invalidArgument("point \(id) has no dense vector to recommend with") }
                return (v, id)
            }
        }
    }

    /// Qdrant's text for a query vector of the wrong size.
    private func checkDimension(_ vector: [Float]) throws {
        guard vector.count == config.dimension else {
            throw HSDBError.invalidArgument("Vector dimension error: expected dim: \(config.dimension), got \(vector.count)")
        }
    }
}
